#!/usr/bin/env -S pnpm exec tsx
// Operator commands against a running cluster (through NATS, KOINE_NATS_URL,
// default nats://127.0.0.1:4222):
//
//   scripts/koine user add <accessKey> [secretKey]   (a secret is generated when omitted)
//   scripts/koine user list
//   scripts/koine user remove <accessKey>
import { randomBytes } from "node:crypto";
import { connect, request } from "@koine/bus";
import { natsUrlFrom } from "@koine/config";
import { KoineError, Meta } from "@koine/protocol";
import { argv, echo } from "zx";

const USAGE = "usage: scripts/koine user add <accessKey> [secretKey] | user list | user remove <accessKey>";
const [area, action, accessKey, secret] = argv._.map(String);

async function main(): Promise<number> {
  if (area !== "user" || !["add", "list", "remove"].includes(action ?? "")) {
    echo(USAGE);
    return 2;
  }
  const nc = await connect({ servers: natsUrlFrom(process.env), name: "koine-cli" });
  try {
    if (action === "list") {
      const { users } = await request(nc, Meta.listUsers, {});
      for (const u of users) echo(`${u.accessKey}\tcreated ${new Date(u.createdMs).toISOString()}`);
      return 0;
    }
    if (!accessKey) {
      echo(USAGE);
      return 2;
    }
    if (action === "add") {
      const secretKey = secret ?? randomBytes(24).toString("base64url");
      await request(nc, Meta.putUser, { accessKey, secretKey });
      echo(`user ${accessKey} added; secret key ${secretKey}`);
      return 0;
    }
    await request(nc, Meta.removeUser, { accessKey });
    echo(`user ${accessKey} removed`);
    return 0;
  } catch (err) {
    console.error(`koine: ${err instanceof KoineError ? err.message : String(err)}`);
    return 1;
  } finally {
    await nc.close();
  }
}

process.exitCode = await main();
