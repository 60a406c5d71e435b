import assert from "node:assert/strict";
import { test } from "node:test";
import { startNats, waitFor } from "@koine/testkit";
import { connect, Lease, openKv } from "./mod.ts";

test("Lease - one holder at a time; a holder whose key went (expired, or deleted) loses the lease and gains it again only as anyone would", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url, name: "test" });
  t.after(() => nc.close());
  const events: string[] = [];
  const handlers = (name: string) => ({
    gained: async () => void events.push(`${name} gained`),
    lost: async () => void events.push(`${name} lost`),
  });
  const options = { bucket: "test-leases", key: "k", ttlMs: 1_500 };
  const first = await Lease.open(nc, { ...options, holder: "first" });
  const second = await Lease.open(nc, { ...options, holder: "second" });
  t.after(() => Promise.all([first.stop(), second.stop()]));
  await first.start(handlers("first"));
  await second.start(handlers("second"));
  assert.deepEqual(events, ["first gained"]);
  assert.equal(await second.holder(), "first");

  // The key gone under the holder (as when it expired while the bucket could not be reached): the holder does not
  // simply write it back as if it had held it all along (another may have led meanwhile); it loses the lease and
  // gains it again as anyone would (the other contender stopped, so that it is the one to).
  await second.stop();
  const kv = await openKv(nc, options.bucket, { ttlMs: options.ttlMs });
  await kv.delete(options.key);
  await waitFor("the lease lost and taken again", () => events.length >= 3);
  assert.deepEqual(events, ["first gained", "first lost", "first gained"]);
  assert.equal(await first.holder(), "first");
});

test("Lease - a holder whose key expired keeps the lease when `undisturbed` says nobody did anything meanwhile", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url, name: "test" });
  t.after(() => nc.close());
  const events: string[] = [];
  let asked = 0;
  const options = { bucket: "test-leases", key: "k", ttlMs: 1_500 };
  const lease = await Lease.open(nc, {
    ...options,
    holder: "only",
    undisturbed: async () => {
      asked++;
      return true;
    },
  });
  t.after(() => lease.stop());
  await lease.start({ gained: async () => void events.push("gained"), lost: async () => void events.push("lost") });
  const kv = await openKv(nc, options.bucket, { ttlMs: options.ttlMs });
  await kv.delete(options.key);
  await waitFor("the key taken back", async () => (await lease.holder()) === "only");
  assert.equal(asked, 1);
  assert.deepEqual(events, ["gained"], "held throughout");
  assert.ok(lease.held);
});

test("Lease - an attempt answered after its hold would have run out does not confirm the lease", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url, name: "test" });
  t.after(() => nc.close());
  const options = { bucket: "test-leases", key: "k", ttlMs: 1_500 };
  const confirmedWhen: boolean[] = [];
  let slow = true;
  const lease: Lease = await Lease.open(nc, {
    ...options,
    holder: "only",
    // Asking the journal took longer than the TTL the first time.
    undisturbed: async () => {
      if (slow) await new Promise((r) => setTimeout(r, 2 * options.ttlMs));
      slow = false;
      return true;
    },
  });
  t.after(() => lease.stop());
  await lease.start({
    gained: async () => {},
    lost: async () => {},
    lapsed: async () => {},
    confirmed: async () => void confirmedWhen.push(lease.confirmed),
  });
  const kv = await openKv(nc, options.bucket, { ttlMs: options.ttlMs });
  await kv.delete(options.key);
  await waitFor("the lease confirmed again", () => confirmedWhen.length > 0);
  assert.deepEqual(confirmedWhen, [true], "confirmed only by an attempt answered in time");
});
