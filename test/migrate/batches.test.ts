import assert from "node:assert/strict";
import { test } from "node:test";
import { Batches, DEFAULT_LIMITS } from "../../src/migrate/batches.js";
import type { FolderWriter, StagedMessage, WholeMessage } from "../../src/maildir/delivery.js";
import type { Journal, MessageRow, SourceIdentity } from "../../src/migrate/journal.js";

/** A writer whose group writes finish only when the test says so, recording what happened in order. */
function fakeWriter(failFlush = false) {
  const events: string[] = [];
  const pending: (() => void)[] = [];
  const writer = {
    writeGroup: (group: WholeMessage[]) => {
      events.push(`write ${group.map((m) => m.staged.tmpName).join(",")}`);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
    flush: async (batch: StagedMessage[]) => {
      events.push(`flush ${batch.length}`);
      if (failFlush) throw new Error("flush failed");
    },
    publish: async (batch: StagedMessage[]) => void events.push(`publish ${batch.map((m) => m.finalName).join(",")}`),
    discard: (batch: readonly StagedMessage[]) => void events.push(`discard ${batch.map((m) => m.tmpName).join(",")}`),
  };
  const finishOldest = async () => {
    pending.shift()?.();
    await new Promise((r) => setImmediate(r));
  };
  return { writer: writer as unknown as FolderWriter, events, finishOldest, inFlight: () => pending.length };
}

const journal = (events: string[]) =>
  ({
    recordPending: (_id: number, rows: MessageRow[], doneFirstSeq: number | null = null) => events.push(`pending ${rows.length}${doneFirstSeq === null ? "" : ` + done ${doneFirstSeq}`}`),
    markDone: (_id: number, firstSeq: number) => events.push(`done ${firstSeq}`),
    finish: (_id: number, _identity: SourceIdentity, doneFirstSeq: number | null = null) => events.push(`finish${doneFirstSeq === null ? "" : ` + done ${doneFirstSeq}`}`),
  }) as unknown as Journal;

const identity: SourceIdentity = { dev: "1", ino: "2", size: "3", mtimeNs: "4", ctimeNs: "5" };

const message = (i: number) => {
  const staged: StagedMessage = { tmpName: `t${i}`, finalName: `f${i}`, subdir: "new", fd: -1 };
  return { whole: { staged, pieces: [Buffer.from(`m${i}`)], mtime: new Date(0) }, staged };
};
const row = (i: number): MessageRow => ({ seq: i, offset: i, end: i + 1, crc: 0, name: `f${i}`, subdir: "new", size: 1 });

test("batches: writeRoom waits only while the thread pool is full; add returns a promise only when it cut a batch", async () => {
  const { writer, events, finishOldest, inFlight } = fakeWriter();
  const limits = { ...DEFAULT_LIMITS, messages: 4, groupMessages: 1, writesInFlight: 2 };
  const batches = new Batches<never>(writer, journal(events), 1, { beforePublish: () => events.push("before") }, limits);

  for (let i = 0; i < 2; i++) {
    assert.equal(batches.writeRoom(), null, `room for write ${i}`);
    batches.writeWhole(message(i).whole, 2);
    assert.equal(batches.add(message(i).staged, row(i)), null, "no batch is cut before the fourth message");
  }
  assert.equal(inFlight(), 2);
  const room = batches.writeRoom();
  assert.ok(room instanceof Promise, "two writes in flight: the third must wait");
  let roomed = false;
  void room.then(() => (roomed = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(roomed, false, "still full");
  await finishOldest();
  assert.equal(roomed, true, "one write done: room again");
  assert.equal(batches.writeRoom(), null);

  batches.writeWhole(message(2).whole, 2);
  assert.equal(batches.add(message(2).staged, row(2)), null);
  batches.writeWhole(message(3).whole, 2);
  const cut = batches.add(message(3).staged, row(3));
  assert.ok(cut instanceof Promise, "the fourth message fills the batch");
  let cutDone = false;
  void cut.then(() => (cutDone = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(cutDone, false, "a cut waits for the batch's writes");
  assert.ok(!events.includes("flush 4"), "nothing is flushed before every write of the batch is done");
  while (inFlight() > 0) await finishOldest();
  await cut;
  await batches.finish(identity);
  assert.deepEqual(events.slice(-5), ["flush 4", "before", "pending 4", "publish f0,f1,f2,f3", "finish + done 0"]);
});

test("batches: a batch is journaled done with the next batch's pending record, and the last with the source's done mark", async () => {
  const { writer, events, finishOldest, inFlight } = fakeWriter();
  const limits = { ...DEFAULT_LIMITS, messages: 2, groupMessages: 2 };
  const published: number[][] = [];
  const batches = new Batches<number>(writer, journal(events), 1, { beforePublish: () => undefined, afterPublish: async (extras) => void published.push(extras) }, limits);
  for (let i = 0; i < 5; i++) {
    batches.writeWhole(message(i).whole, 2);
    const cut = batches.add(message(i).staged, row(i), i);
    while (inFlight() > 0) await finishOldest();
    await cut;
  }
  const finished = batches.finish(identity);
  while (inFlight() > 0) await finishOldest();
  await finished;
  assert.deepEqual(
    events.filter((e) => !e.startsWith("write") && !e.startsWith("flush")),
    ["pending 2", "publish f0,f1", "pending 2 + done 0", "publish f2,f3", "pending 1 + done 2", "publish f4", "finish + done 4"],
  );
  assert.deepEqual(published, [[0, 1], [2, 3], [4]], "each batch reaches afterPublish once it is visible");
});

test("batches: a batch is flushed while the one before it is still being published, and published only after it; the reader waits for the batch two back", async () => {
  const { writer, events, finishOldest, inFlight } = fakeWriter();
  // Publishing waits until the test lets it go, as a publish waiting on the disk would.
  const held: (() => void)[] = [];
  (writer as unknown as { publish: (batch: StagedMessage[]) => Promise<void> }).publish = (batch) =>
    new Promise<void>((resolve) => held.push(() => resolve(void events.push(`publish ${batch.map((m) => m.finalName).join(",")}`))));
  const batches = new Batches<never>(writer, journal(events), 1, { beforePublish: () => undefined }, { ...DEFAULT_LIMITS, messages: 2, groupMessages: 1 });
  const settled = (p: Promise<void>) => {
    const state = { done: false };
    void p.then(() => (state.done = true));
    return state;
  };
  const cuts: { done: boolean }[] = [];
  for (let i = 0; i < 6; i++) {
    batches.writeWhole(message(i).whole, 2);
    const cut = batches.add(message(i).staged, row(i));
    while (inFlight() > 0) await finishOldest();
    if (cut) cuts.push(settled(cut));
    await new Promise((r) => setImmediate(r));
  }
  const flushes = () => events.filter((e) => e.startsWith("flush")).length;
  assert.deepEqual([cuts[0].done, cuts[1].done, cuts[2].done], [true, true, false], "the third cut waits for the first batch, not the second");
  assert.equal(flushes(), 2, "the second batch is flushed while the first waits to be published");
  assert.deepEqual(events.filter((e) => /^(pending|publish)/.test(e)), ["pending 2"], "nothing of the second batch is journaled before the first is published");
  held.shift()?.();
  await new Promise((r) => setImmediate(r));
  assert.equal(cuts[2].done, true, "the first batch published: the third cut goes on");
  assert.equal(flushes(), 3);
  const finished = batches.finish(identity);
  while (held.length > 0 || !events.includes("publish f4,f5")) {
    held.shift()?.();
    await new Promise((r) => setImmediate(r));
  }
  await finished;
  assert.deepEqual(events.filter((e) => /^(pending|publish|done|finish)/.test(e)), ["pending 2", "publish f0,f1", "pending 2 + done 0", "publish f2,f3", "pending 2 + done 2", "publish f4,f5", "finish + done 4"]);
});

/**
 * The sizes of the batches 100 messages of 10 bytes (a source of 1,000 bytes) are cut into;
 * `extraBytes`: what each message's extra (the index feed's header block) holds.
 */
async function batchSizes(limits: typeof DEFAULT_LIMITS, extraBytes?: (i: number) => number): Promise<number[]> {
  const { writer, events, finishOldest, inFlight } = fakeWriter();
  const batches = new Batches<number>(writer, journal(events), 1, { beforePublish: () => undefined }, limits);
  for (let i = 0; i < 100; i++) {
    batches.writeWhole(message(i).whole, 10);
    const cut = batches.add(message(i).staged, { ...row(i), offset: i * 10, end: (i + 1) * 10, size: 10 }, i, extraBytes?.(i));
    while (inFlight() > 0) await finishOldest();
    await cut;
  }
  await batches.finish(identity);
  return events.filter((e) => e.startsWith("pending")).map((e) => Number(e.split(" ")[1]));
}

test("batches: as the source's end nears, each batch is cut once it holds what is left after it, down to tailMessages", async () => {
  const limits = { ...DEFAULT_LIMITS, messages: 40, groupMessages: 1, writesInFlight: 1000, tailMessages: 4 };
  // 40; then 30 (holding 300 bytes, 300 left), 15, 8, 4 (tailMessages), and the last 3.
  assert.deepEqual(await batchSizes({ ...limits, sourceEnd: 1000 }), [40, 30, 15, 8, 4, 3]);
  assert.deepEqual(await batchSizes(limits), [40, 40, 20], "without sourceEnd, batches are cut by their limits alone");
});

test("batches: a batch is cut once the extras it holds for the index feed reach extraBytes, however few its messages", async () => {
  const limits = { ...DEFAULT_LIMITS, messages: 40, groupMessages: 1, writesInFlight: 1000, extraBytes: 1000 };
  // Headers of 100 bytes: ten to a batch. Then of 30 (messages 50 on): 34 to a batch, and
  // the batch that began with the large ones is cut once it holds 1,000 bytes.
  assert.deepEqual(await batchSizes(limits, (i) => (i < 50 ? 100 : 30)), [10, 10, 10, 10, 10, 34, 16]);
  assert.deepEqual(await batchSizes(limits, () => 10), [40, 40, 20], "small extras leave the batches to their other limits");
});

test("batches: a batch that fails before it is published is discarded, and so is what was staged after it", async () => {
  const { writer, events, finishOldest, inFlight } = fakeWriter(true);
  const batches = new Batches<never>(writer, journal(events), 1, { beforePublish: () => undefined }, { ...DEFAULT_LIMITS, messages: 2, groupMessages: 1 });
  let failure: unknown;
  try {
    // Three batches of two: the second is flushed while the first fails, and the third cut
    // (which waits for the batch two back) reports it.
    for (let i = 0; i < 6; i++) {
      const m = message(i);
      batches.writeWhole(m.whole, 2);
      const cut = batches.add(m.staged, row(i));
      cut?.catch(() => undefined); // awaited below, once its writes are let finish
      while (inFlight() > 0) await finishOldest();
      await cut;
    }
  } catch (err) {
    failure = err;
  } finally {
    await batches.quiesce();
  }
  assert.equal((failure as Error | undefined)?.message, "flush failed", "the cut two batches on reports the failed batch");
  assert.deepEqual(
    events.filter((e) => !e.startsWith("write")),
    ["flush 2", "discard t0,t1", "flush 2", "discard t2,t3", "discard t4,t5"],
    "nothing journaled or published; the failed batch, the batch behind it and the staged messages behind that are discarded",
  );
});
