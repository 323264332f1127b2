import assert from "node:assert/strict";
import { test } from "node:test";
import type { FedMessage } from "../../src/index/appender.js";
import { HeaderArena, type PackedRows, SharedSlot, unpackRows } from "../../src/index/feed-memory.js";
import { realMessages } from "../helpers/mbox.js";

const lf = realMessages("lf").map((m) => m.bytes);
const headerOf = (bytes: Buffer) => bytes.subarray(0, bytes.indexOf("\n\n") + 1);

/** `count` fed rows of real messages' headers, from the `from`th message on. */
function batch(from: number, count: number, header: (bytes: Buffer) => Uint8Array = headerOf): FedMessage[] {
  return Array.from({ length: count }, (_, i) => {
    const bytes = lf[(from + i) % lf.length];
    return { name: `${1700000000 + i}.M${from + i}P1.host,S=${bytes.length}:2,S`, subdir: i % 2 ? "cur" : "new", size: bytes.length, received: 1700000000000 + i * 1000, header: header(bytes) };
  });
}

/** Rows as plain data (header bytes as text), to compare what crossed with what was sent. */
const plain = (rows: FedMessage[]) => rows.map((r) => ({ ...r, header: Buffer.from(r.header).toString("latin1") }));

test("a batch crosses to the feed thread whole through a reused slot, whatever the batch before it held", () => {
  const slot = new SharedSlot();
  // A large batch, then smaller ones: each unpacks to exactly its own rows, nothing of the one before.
  for (const rows of [batch(0, 120), batch(7, 3), batch(50, 1), batch(3, 60)]) assert.deepEqual(plain(unpackRows(slot.pack(rows))), plain(rows));
  // The memory is reused, not allocated again for a batch that fits.
  const first = slot.pack(batch(0, 120)).headers;
  assert.equal(slot.pack(batch(9, 40)).headers, first);
});

test("header blocks staged in the arena cross in the memory they were copied to, used again only once the feed thread answered its batch", () => {
  const arena = new HeaderArena();
  const slot = new SharedSlot();
  /** Stages a batch's blocks as MessageStep does (the rows then hold the arena's copies). */
  const stage = (rows: FedMessage[], cut = true) => {
    const staged = rows.map((r) => ({ ...r, header: arena.add(r.header) }));
    if (cut) arena.cut();
    return staged;
  };
  const sent: SharedArrayBuffer[] = [];
  const send = (rows: FedMessage[], original: FedMessage[]): PackedRows => {
    const carried = arena.carrying(rows, sent.length);
    assert.ok(carried, "a batch staged whole crosses in its own memory");
    assert.ok(!sent.includes(carried), "memory still in flight is not handed out again");
    sent.push(carried);
    const packed = slot.pack(rows, carried);
    assert.equal(packed.headers, carried);
    assert.deepEqual(plain(unpackRows(packed)), plain(original));
    return packed;
  };
  // Two batches staged before the first is sent (Batches publishes one while the next fills).
  const a = batch(0, 300);
  const b = batch(40, 250);
  const stagedA = stage(a);
  const stagedB = stage(b);
  send(stagedA, a);
  send(stagedB, b);
  // The last batch is sent without a cut: nothing is staged after it.
  const c = batch(90, 17);
  send(stage(c, false), c);
  // Answered, the first batch's memory serves a later one; the others are still out.
  arena.answered(1);
  const d = batch(5, 20);
  const stagedD = stage(d);
  assert.equal(stagedD[0].header.buffer, sent[0]);
  const e = batch(8, 30);
  const stagedE = stage(e);
  assert.ok(!sent.slice(1).includes(stagedE[0].header.buffer as SharedArrayBuffer));
  // Once every batch is answered, all of it serves again.
  arena.answered(Number.POSITIVE_INFINITY);
  const f = batch(2, 5);
  assert.ok(sent.slice(1).includes(stage(f)[0].header.buffer as SharedArrayBuffer));
});

test("a batch that outgrew its memory, or is not what was staged, is copied into the slot", () => {
  const arena = new HeaderArena();
  const slot = new SharedSlot();
  // Headers made long (a real header repeated): a batch of 300 is more than the first 2 MB.
  const long = (bytes: Buffer) => Buffer.concat(Array(8).fill(headerOf(bytes)));
  const big = batch(0, 300, long);
  const staged = big.map((r) => ({ ...r, header: arena.add(r.header) }));
  arena.cut();
  assert.notEqual(staged[0].header.buffer, staged[299].header.buffer);
  assert.equal(arena.carrying(staged, 0), null);
  const packed = slot.pack(staged, null);
  assert.deepEqual(plain(unpackRows(packed)), plain(big));
  // The next batch fits the grown memory and crosses in it.
  const next = batch(3, 300, long);
  const stagedNext = next.map((r) => ({ ...r, header: arena.add(r.header) }));
  arena.cut();
  assert.ok(arena.carrying(stagedNext, 1));
  // A batch sent with a row fewer than was staged does not match its memory.
  const short = batch(7, 10);
  const stagedShort = short.map((r) => ({ ...r, header: arena.add(r.header) }));
  arena.cut();
  assert.equal(arena.carrying(stagedShort.slice(1), 2), null);
  assert.deepEqual(plain(unpackRows(slot.pack(stagedShort.slice(1), null))), plain(short.slice(1)));
});

test("memory made for a batch of huge headers is let go once answered; the batches after it come back to memory their size", () => {
  const arena = new HeaderArena();
  const stageAndCut = (rows: FedMessage[]) => {
    const staged = rows.map((r) => ({ ...r, header: arena.add(r.header) }));
    arena.cut();
    return staged;
  };
  // 300 header blocks of 64 KB (the most the index reads of a header): 19 MB in one batch,
  // more than the memory at hand, so copied.
  const huge = (bytes: Buffer) => Buffer.concat([headerOf(bytes), Buffer.alloc(64 * 1024 - headerOf(bytes).length, 0x61)]);
  assert.equal(arena.carrying(stageAndCut(batch(0, 300, huge)), 0), null);
  // The next batch gets memory sized by that one, and crosses in it.
  const next = arena.carrying(stageAndCut(batch(0, 50)), 1);
  assert.ok(next && next.byteLength >= 300 * 64 * 1024);
  arena.answered(2);
  // Answered, that memory is not kept: the batch after it gets memory of its own size.
  const after = stageAndCut(batch(5, 50));
  const memory = after[0].header.buffer as SharedArrayBuffer;
  assert.ok(memory !== next && memory.byteLength <= 4 * 1024 * 1024, `memory of ${memory.byteLength} bytes for 50 ordinary headers`);
  assert.ok(arena.carrying(after, 2));
});
