import { join } from "node:path";
import { build } from "esbuild";
import type { FastifyPluginAsync } from "fastify";

/** The console's page: the bundle only, from this origin (no CDN: it works offline). */
const INDEX = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>koine console</title>
<link rel="stylesheet" href="/console.css">
</head>
<body>
<div id="app"></div>
<script type="module" src="/console.js"></script>
</body>
</html>
`;

let bundled: Promise<{ js: Buffer; css: Buffer }> | undefined;

/**
 * The app's script and style, bundled by esbuild from `src/app` (Preact,
 * htm, uPlot, aws4fetch) once a process (~90 ms; 90 KiB of script).
 */
export function bundleConsole(): Promise<{ js: Buffer; css: Buffer }> {
  bundled ??= bundle();
  return bundled;
}

async function bundle(): Promise<{ js: Buffer; css: Buffer }> {
  const result = await build({
    entryPoints: { console: join(import.meta.dirname, "app", "main.ts") },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    outdir: "/bundle",
    logLevel: "silent",
  });
  const file = (ext: string) => Buffer.from(result.outputFiles.find((f) => f.path.endsWith(ext))?.contents ?? new Uint8Array());
  return { js: file(".js"), css: file(".css") };
}

/**
 * Serves the console: its page and bundle. What it shows it reads from the
 * APIs beside it on the same origin (the admin API, S3 under /s3), each call
 * signed in the browser with the user's key (SigV4: the secret never leaves).
 */
export const consolePlugin: FastifyPluginAsync = async (app) => {
  const bundle = await bundleConsole();
  const security = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
  const send = (type: string, body: Buffer | string) => (_req: unknown, reply: import("fastify").FastifyReply) =>
    reply.header("content-type", type).header("content-security-policy", security).header("cache-control", "no-cache").send(body);
  app.get("/", send("text/html; charset=utf-8", INDEX));
  app.get("/console.js", send("text/javascript; charset=utf-8", bundle.js));
  app.get("/console.css", send("text/css; charset=utf-8", bundle.css));
};
