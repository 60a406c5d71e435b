/**
 * JSON as Ozone's success bodies are written (Jackson's
 * `DefaultPrettyPrinter`): objects one field a line, indented two spaces
 * per enclosing object, `"name" : value`; arrays on the line they open,
 * `[ a, b ]`, empty ones `[ ]` and `{ }`. Fields keep their order.
 */
export function jacksonPretty(value: unknown, level = 0): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[ ]";
    return `[ ${value.map((v) => jacksonPretty(v, level)).join(", ")} ]`;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return "{ }";
    const inner = "  ".repeat(level + 1);
    const fields = entries.map(([k, v]) => `${inner}${JSON.stringify(k)} : ${jacksonPretty(v, level + 1)}`);
    return `{\n${fields.join(",\n")}\n${"  ".repeat(level)}}`;
  }
  return JSON.stringify(value ?? null);
}
