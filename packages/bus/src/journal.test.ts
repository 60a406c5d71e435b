import assert from "node:assert/strict";
import { test } from "node:test";
import { startNats } from "@koine/testkit";
import { connect, Journal, JournalTrimmedError } from "./mod.ts";

/** Reads every record after `after` to the journal's end now. */
async function readAll(journal: Journal, after: number) {
  const records = [];
  for await (const record of journal.read(after))
    records.push({ seq: record.seq, text: Buffer.from(record.data).toString(), writer: record.writer });
  return records;
}

test("Journal - a few records are read one by one, many through a consumer: the same records either way, a record larger than a message whole, a trim told", async (t) => {
  const nats = await startNats(t);
  const nc = await connect({ servers: nats.url, name: "test" });
  t.after(() => nc.close());
  const journal = await Journal.open(nc, { stream: "TEST_JOURNAL", subject: "test.journal", writer: "w1" });

  const large = "x".repeat(3 * 1024 * 1024); // several messages
  const texts = Array.from({ length: 100 }, (_, i) => (i === 50 ? large : `record ${i}`));
  const seqs: number[] = [];
  for (const text of texts) seqs.push(await journal.append(Buffer.from(text)));
  assert.ok((seqs[51] as number) - (seqs[50] as number) > 1, "the large record took several messages");

  const all = await readAll(journal, 0); // through a consumer: 100 records in 100+ messages
  assert.deepEqual(
    all.map((r) => r.text),
    texts,
  );
  assert.ok(all.every((r) => r.writer === "w1"));
  // The last few, across the large record, one by one: the same records.
  const tail = await readAll(journal, (seqs[48] as number) - 1);
  assert.deepEqual(tail, all.slice(48));
  assert.deepEqual(await readAll(journal, journal.last), [], "nothing after the end");

  // Trimmed behind record 60: a read from before is told, by either path.
  await journal.trim(seqs[60] as number);
  await assert.rejects(readAll(journal, 0), JournalTrimmedError);
  await assert.rejects(readAll(journal, (seqs[59] as number) - 1), JournalTrimmedError);
  assert.deepEqual(
    (await readAll(journal, (seqs[60] as number) - 1)).map((r) => r.text),
    texts.slice(60),
  );
});
