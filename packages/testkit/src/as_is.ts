import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
/**
 * A request whose path goes on the wire exactly as written (fetch, curl and
 * Node's URL parsing resolve "." and ".." segments, "%2e%2e" included, as
 * WHATWG URLs do): its status and body.
 */
export function requestAsIs(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    req.end();
  });
}
