import { request } from "node:http";

/** An Ozone REST answer: status, headers, body as text (and parsed, when JSON). */
export interface OzoneAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: unknown;
}

/** A request date as Ozone's own tests sent it (`EEE, dd MMM yyyy HH:mm:ss +0000`). */
export function ozoneDate(date = new Date()): string {
  return date.toUTCString().replace("GMT", "+0000");
}

/**
 * A raw Ozone v1 REST call with the headers Ozone's tests sent
 * (`x-ozone-version: v1`, `Date`, `Authorization: OZONE <user>`), any of
 * them replaced or left out (null), repeated when given as an array.
 */
export function ozoneCall(
  base: string,
  method: string,
  path: string,
  options: { user?: string; headers?: Record<string, string | string[] | null>; body?: Buffer | string } = {},
): Promise<OzoneAnswer> {
  const headers: Record<string, string | string[]> = {
    "x-ozone-version": "v1",
    date: ozoneDate(),
    authorization: `OZONE ${options.user ?? "hdfs"}`,
  };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  if (body !== undefined && headers["content-length"] === undefined && headers["transfer-encoding"] === undefined) {
    headers["content-length"] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text, json });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}
