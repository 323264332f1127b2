import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { FolderWriter, StagedMessage, WholeMessage } from "../../src/maildir/delivery.js";
import { MboxReader } from "../../src/mbox/reader.js";
import { WINDOW_BYTES } from "../../src/mbox/window.js";
import { Batches, DEFAULT_LIMITS } from "../../src/migrate/batches.js";
import type { Journal, SourceIdentity } from "../../src/migrate/journal.js";
import { ReusedWindows } from "../../src/migrate/reused-windows.js";
import { buildMbox, realMessages, tempDir } from "../helpers/mbox.js";

test("reused windows: a retired buffer comes back only once every group up to its fence is written", () => {
  const progress = { groupsDispatched: 3, groupsWritten: 2 };
  const buffers = new ReusedWindows(progress, 40);
  const a = buffers.take(16);
  buffers.retire(a);
  progress.groupsDispatched = 5;
  assert.notEqual(buffers.take(16), a, "group 3 (being filled when it was retired) is not written yet");
  progress.groupsWritten = 3;
  assert.notEqual(buffers.take(16), a, "groups below 3 written, 3 itself not yet");
  progress.groupsWritten = 4;
  assert.equal(buffers.take(16), a, "group 3 written: reused");

  buffers.retire(a);
  progress.groupsWritten = 6;
  assert.notEqual(buffers.take(32), a, "a window that grew gets a buffer of its new size");
  assert.notEqual(buffers.take(16), a, "and the smaller one is dropped, not kept");

  // More waiting than allowed (40 bytes): the oldest is let go and never handed out again.
  const waiting = [Buffer.alloc(16), Buffer.alloc(16), Buffer.alloc(16)];
  for (const buf of waiting) buffers.retire(buf);
  progress.groupsDispatched = 7;
  progress.groupsWritten = 8;
  const again = [buffers.take(16), buffers.take(16), buffers.take(16)];
  assert.ok(!again.includes(waiting[0]), "the oldest was given up");
  assert.ok(again.includes(waiting[1]) && again.includes(waiting[2]));
});

test("reused windows: a finished delivery hands its default-size buffers to the next one on the thread, never before it releases them", () => {
  const progress = { groupsDispatched: 1, groupsWritten: 0 };
  const first = new ReusedWindows(progress);
  const [big, other, small] = [first.take(WINDOW_BYTES), first.take(WINDOW_BYTES), first.take(4096)];
  for (const buf of [big, other, small]) first.retire(buf);
  const unreleased = new ReusedWindows({ groupsDispatched: 0, groupsWritten: 0 });
  assert.ok(![big, other].includes(unreleased.take(WINDOW_BYTES)), "still waiting for their writes: not handed on");
  first.release();
  const next = new ReusedWindows({ groupsDispatched: 0, groupsWritten: 0 });
  const taken = [next.take(WINDOW_BYTES), next.take(WINDOW_BYTES)];
  assert.deepEqual(new Set(taken), new Set([big, other]), "released: the next delivery reads into them");
  assert.ok(![big, other].includes(next.take(WINDOW_BYTES)), "each is handed out once");
  assert.notEqual(next.take(4096), small, "a small mailbox's window is not kept");
});

/**
 * A writer whose group writes complete late and out of order, each checking at completion
 * that its messages hold the bytes they must (message tN: expected[N]): what a write on the
 * thread pool reads is whatever the buffers hold by the time it runs.
 */
function lateWriter(expected: Buffer[]) {
  const damaged: string[] = [];
  const groups: { group: WholeMessage[]; done: () => void }[] = [];
  let dispatched = 0;
  const completeOne = () => {
    // Every third completion is the newest group instead of the oldest: out of order.
    const entry = ++dispatched % 3 === 0 ? groups.pop() : groups.shift();
    if (!entry) return;
    for (const m of entry.group) if (!Buffer.concat(m.pieces).equals(expected[Number(m.staged.tmpName.slice(1))])) damaged.push(m.staged.tmpName);
    entry.done();
  };
  const writer = {
    writeGroup: (group: WholeMessage[]) =>
      new Promise<void>((done) => {
        groups.push({ group, done });
        // Completed a little later, while the reader moves on.
        setImmediate(() => setImmediate(completeOne));
      }),
    flush: async (_batch: StagedMessage[]) => undefined,
    publish: async (_batch: StagedMessage[]) => undefined,
    discard: (_batch: readonly StagedMessage[]) => undefined,
  };
  return { writer: writer as unknown as FolderWriter, damaged };
}

const journal = { recordPending: () => undefined, markDone: () => undefined, finish: () => undefined } as unknown as Journal;
const identity: SourceIdentity = { dev: "1", ino: "2", size: "3", mtimeNs: "4", ctimeNs: "5" };

test("reused windows: no write reads a buffer the reader has taken again, with small windows and late writes", async () => {
  // Real messages, many times over, so the window moves (and buffers come back) hundreds of times.
  const originals = realMessages("lf").map((m) => m.bytes);
  const messages = Array.from({ length: 6 }, () => originals).flat();
  const built = buildMbox(messages, "mboxrd");
  const file = path.join(tempDir(), "mbox");
  fs.writeFileSync(file, built.mbox);
  const { writer, damaged } = lateWriter(built.expected);
  const batches = new Batches<never>(writer, journal, 1, { beforePublish: () => undefined }, { ...DEFAULT_LIMITS, messages: 50, groupMessages: 3, writesInFlight: 4 });
  const buffers = new ReusedWindows(batches);
  const handedOut = new Set<Buffer>();
  let reused = 0;
  const take = buffers.take.bind(buffers);
  buffers.take = (capacity) => {
    const buf = take(capacity);
    if (handedOut.has(buf)) reused++;
    handedOut.add(buf);
    return buf;
  };
  const fd = fs.openSync(file, "r");
  const written: Buffer[] = [];
  try {
    const reader = new MboxReader(fd, "mboxrd", { windowBytes: 4096, buffers });
    let seq = 0;
    for (let next = reader.nextMessage(); next; next = reader.nextMessage()) {
      const room = batches.writeRoom();
      if (room) await room;
      const pieces = [...next.content()];
      const staged: StagedMessage = { tmpName: `t${seq}`, finalName: `f${seq}`, subdir: "new", fd: -1 };
      written.push(Buffer.concat(pieces));
      batches.writeWhole({ staged, pieces, mtime: new Date(0) }, written[seq].length);
      const cut = batches.add(staged, { seq, offset: 0, end: 0, crc: 0, name: `f${seq}`, subdir: "new", size: written[seq].length });
      seq++;
      if (cut) await cut;
    }
    await batches.finish(identity);
  } finally {
    fs.closeSync(fd);
  }
  assert.equal(written.length, messages.length);
  written.forEach((bytes, i) => assert.ok(bytes.equals(built.expected[i]), `message ${i} read as it is in the mbox`));
  assert.ok(reused > 20, `buffers were reused (${reused} times), so the test exercised reuse`);
  assert.deepEqual(damaged, [], "every write found its bytes as they were when it was queued");
});
