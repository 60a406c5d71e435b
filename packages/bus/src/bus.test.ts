import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode, KoineError, rpc } from "@koine/protocol";
import { startNats } from "@koine/testkit";
import { Type as T } from "@sinclair/typebox";
import { compareVersions, connect, request, serve } from "./mod.ts";

const Echo = rpc("test.echo", T.Object({ n: T.Integer() }), T.Object({ twice: T.Integer() }));

test("request() validates, carries error codes, and reports no responders", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url, name: "test" });
  t.after(() => nc.close());

  await assert.rejects(request(nc, Echo, { n: 1 }), (e: KoineError) => e.code === ErrorCode.Unavailable);

  serve(
    nc,
    Echo,
    ({ n }) => {
      if (n < 0) throw new KoineError(ErrorCode.NotFound, `Cannot find ${n}`);
      return { twice: n * 2 };
    },
    { queue: "q" },
  );
  await nc.flush();

  assert.deepEqual(await request(nc, Echo, { n: 21 }), { twice: 42 });
  await assert.rejects(request(nc, Echo, { n: -1 }), (e: KoineError) => e.code === ErrorCode.NotFound && e.message === "Cannot find -1");
  await assert.rejects(
    request(nc, Echo, { n: 1.5 } as never),
    (e: KoineError) => e.code === ErrorCode.InvalidArgument && /\/n/.test(e.message),
  );
});

test("compareVersions() orders dotted versions numerically", () => {
  assert.ok(compareVersions("2.9.10", "2.9.4") > 0);
  assert.ok(compareVersions("2.9.3", "2.9.4") < 0);
  assert.equal(compareVersions("2.10.0", "2.10.0"), 0);
});
