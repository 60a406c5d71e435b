import { start } from "./service.ts";

const runner = await start({ natsUrl: process.env.KOINE_NATS_URL ?? "nats://127.0.0.1:4222" });
console.log("koine job-runner: consuming jobs");
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void runner.stop().then(() => process.exit(0)));
}
