import { natsUrlFrom, runService } from "@koine/config";
import { start } from "./service.ts";

await runService(
  "job-runner",
  () => ({ natsUrl: natsUrlFrom(process.env) }),
  start,
  () => "koine job-runner: consuming jobs",
);
