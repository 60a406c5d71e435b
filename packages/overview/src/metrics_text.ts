/** One sample of a Prometheus text exposition: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const UNESCAPE: Record<string, string> = { "\\": "\\", '"': '"', n: "\n" };

/**
 * The samples of a Prometheus text exposition (version 0.0.4, as
 * prom-client writes it): comments and malformed lines are skipped.
 */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sample = parseLine(line);
    if (sample) samples.push(sample);
  }
  return samples;
}

function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (!name) return undefined;
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === "{") {
    at++;
    while (line[at] !== "}") {
      const label = NAME.exec(line.slice(at))?.[0];
      if (!label || line[at + label.length] !== "=" || line[at + label.length + 1] !== '"') return undefined;
      at += label.length + 2;
      let value = "";
      while (line[at] !== '"') {
        if (at >= line.length) return undefined;
        if (line[at] === "\\") {
          value += UNESCAPE[line[at + 1] ?? ""] ?? `\\${line[at + 1] ?? ""}`;
          at += 2;
        } else value += line[at++];
      }
      labels[label] = value;
      at++;
      if (line[at] === ",") at++;
      else if (line[at] !== "}") return undefined;
    }
    at++;
  }
  const [valueText] = line.slice(at).trim().split(/\s+/);
  const value = valueText === "+Inf" ? Number.POSITIVE_INFINITY : valueText === "-Inf" ? Number.NEGATIVE_INFINITY : Number(valueText);
  if (valueText === undefined || valueText === "" || (Number.isNaN(value) && valueText !== "NaN")) return undefined;
  return { name, labels, value };
}
