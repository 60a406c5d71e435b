/**
 * The web console (port 19990): a single-page app (Preact, htm, uPlot),
 * bundled by esbuild when the service starts, over the admin API and S3.
 * @module
 */
export { bundleConsole, consolePlugin } from "./plugin.ts";
