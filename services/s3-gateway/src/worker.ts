/** A worker process of the S3 gateway (started by the gateway's first process, which `workers` > 1 makes fork it). */
import { serveAsWorker } from "@koine/frontend";
import { start } from "./service.ts";

serveAsWorker(start);
