import type { FedMessage } from "./appender.js";

// How a batch of fed messages crosses from the migrating thread to the index feed's thread
// (feed.ts): in shared memory, never copied by postMessage, and read in place there.

/** Batches the migrating thread may send before the feed thread answers the oldest. */
export const AHEAD = 3;

/**
 * A batch of fed messages as it crosses to the feed thread: the header blocks back to back
 * and each message's numbers in shared memory, the names in one string, instead of a
 * thousand small objects to clone.
 */
export interface PackedRows {
  /** File names, "/"-separated (a Maildir name never holds one). */
  names: string;
  /** Per message: 1 if in cur/ (else new/), size, received, where its header block ends. */
  numbers: SharedArrayBuffer;
  /** The header blocks, back to back from the start; the last one ends at the last message's end. */
  headers: SharedArrayBuffer;
}

/** A size for memory outgrown: a quarter more than asked, so that the next batch likely fits. */
function grown(need: number): number {
  return Math.max(Math.ceil(need * 1.25), 256 * 1024);
}

/**
 * Memory one batch in flight crosses in, reused batch after batch. Shared, because a copied
 * batch landed in fresh memory three times (packed, serialized by postMessage, deserialized
 * in the feed thread), and on a VM where a page fault costs ~10 us that showed: sharing cut
 * a 30,000-message migration's page faults from ~43,000 to ~37,000. Not transferred: the
 * first ArrayBuffer detached in a thread clears a V8 protector, which throws away the
 * optimized code of every function there that reads a Buffer (19 at once here; their
 * recompiles cost ~250 ms of compiler time).
 */
export class SharedSlot {
  private numbers = new SharedArrayBuffer(0);
  private headers = new SharedArrayBuffer(0);

  /**
   * The batch packed into this slot. `carried`: memory that already holds the rows' header
   * blocks back to back from its start (HeaderArena.carrying), sent as it is instead of
   * copied into the slot.
   */
  pack(rows: FedMessage[], carried: SharedArrayBuffer | null = null): PackedRows {
    if (this.numbers.byteLength < rows.length * 32) this.numbers = new SharedArrayBuffer(grown(rows.length * 32));
    let headerBytes: Uint8Array | null = null;
    if (!carried) {
      let total = 0;
      for (const row of rows) total += row.header.byteLength;
      if (this.headers.byteLength < total) this.headers = new SharedArrayBuffer(grown(total));
      headerBytes = new Uint8Array(this.headers);
    }
    const numbers = new Float64Array(this.numbers);
    const names: string[] = [];
    let at = 0;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      headerBytes?.set(row.header, at);
      at += row.header.byteLength;
      numbers[i * 4] = row.subdir === "cur" ? 1 : 0;
      numbers[i * 4 + 1] = row.size;
      numbers[i * 4 + 2] = row.received;
      numbers[i * 4 + 3] = at;
      names.push(row.name);
    }
    return { names: names.join("/"), numbers: this.numbers, headers: carried ?? this.headers };
  }
}

/**
 * The batch's rows, their header blocks read in place: valid until the batch is answered,
 * before which the sender neither reuses the slot nor the memory the headers came in.
 */
export function unpackRows(packed: PackedRows): FedMessage[] {
  const numbers = new Float64Array(packed.numbers);
  const names = packed.names.split("/");
  let start = 0;
  return names.map((name, i) => {
    const end = numbers[i * 4 + 3];
    const row: FedMessage = { name, subdir: numbers[i * 4] === 1 ? "cur" : "new", size: numbers[i * 4 + 1], received: numbers[i * 4 + 2], header: Buffer.from(packed.headers, start, end - start) };
    start = end;
    return row;
  });
}

/** Memory blocks were staged in: how many, and their bytes. */
interface StagedMemory {
  memory: SharedArrayBuffer;
  blocks: number;
  bytes: number;
}

const FIRST_ARENA = 2 * 1024 * 1024;
/** Memory no batch in flight holds, for the next batches of this thread's feeds. */
const spare: SharedArrayBuffer[] = [];
const SPARE_KEPT = AHEAD + 3;
/**
 * What the spare memory may add up to: enough for the batches in flight of ordinary mail
 * (a thousand headers, ~2 MB each), not for as many of the largest (Batches' extraBytes).
 */
const SPARE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Where the migrating thread copies each fed message's header block as it stages the message:
 * the blocks of one batch back to back in shared memory, which then crosses to the feed thread
 * as it is. One copy, made while the bytes are fresh in the cache, instead of three (a buffer
 * per message, the slot, the feed thread's own), and no allocation per message.
 *
 * The owner calls cut() where a batch ends. Memory is used again only once the feed thread
 * has answered the batch it carried (answered). A batch that does not fill its memory exactly
 * (it outgrew it, or rows were added or dropped) is copied into a slot instead, as before.
 */
export class HeaderArena {
  /** The memory blocks go to now, and what it holds. */
  private current: StagedMemory | null = null;
  private bytes: Uint8Array = new Uint8Array(0);
  /** Memory of batches cut and not yet sent, oldest first. */
  private readonly cutOff: StagedMemory[] = [];
  /** Memory sent with a batch (by its number), until the feed thread has answered it. */
  private readonly inFlight: { batch: number; memory: SharedArrayBuffer }[] = [];
  /** Bytes staged since the last cut, whatever memory they went to. */
  private batchBytes = 0;
  /** The size new memory is made: the last batch's blocks and a quarter more. */
  private size = FIRST_ARENA;

  /** A copy of `block` in shared memory, after the blocks staged since the last cut. */
  add(block: Uint8Array): Uint8Array {
    const used = this.current?.bytes ?? 0;
    if (this.current === null || used + block.byteLength > this.bytes.byteLength) this.fresh(block.byteLength);
    const current = this.current as StagedMemory;
    const at = current.bytes;
    this.bytes.set(block, at);
    current.bytes += block.byteLength;
    current.blocks++;
    this.batchBytes += block.byteLength;
    return this.bytes.subarray(at, current.bytes);
  }

  /** The batch being staged ends here: its memory is left to it, the next blocks go elsewhere. */
  cut(): void {
    if (this.batchBytes > 0) this.size = Math.max(FIRST_ARENA, grown(this.batchBytes));
    this.batchBytes = 0;
    if (this.current === null || this.current.blocks === 0) return;
    this.cutOff.push(this.current);
    this.current = null;
  }

  /**
   * The memory that holds exactly `rows`' header blocks, back to back from its start, given
   * up to batch number `batch` as it is sent; null where the batch must be copied. Memory cut
   * off before the batch's own belongs to batches already sent (copied): it is let go. The
   * last batch may be sent uncut (nothing is staged after it).
   */
  carrying(rows: FedMessage[], batch: number): SharedArrayBuffer | null {
    const memory = this.take(rows);
    if (memory) this.inFlight.push({ batch, memory });
    return memory;
  }

  /** The feed thread has answered every batch numbered below `count`: their memory serves later batches. */
  answered(count: number): void {
    while (this.inFlight.length > 0 && this.inFlight[0].batch < count) recycle((this.inFlight.shift() as { memory: SharedArrayBuffer }).memory);
  }

  private take(rows: FedMessage[]): SharedArrayBuffer | null {
    if (rows.length === 0) return null;
    const memory = rows[rows.length - 1].header.buffer;
    const at = this.cutOff.findIndex((m) => m.memory === memory);
    if (at >= 0) {
      const staged = this.cutOff.splice(0, at + 1)[at];
      return fills(staged, rows) ? staged.memory : null;
    }
    // The memory being staged into is given up only when the batch is all it holds.
    if (this.current?.memory !== memory || !fills(this.current, rows)) return null;
    this.current = null;
    this.cutOff.length = 0;
    return memory;
  }

  /** New memory for the blocks from here on: room for the batch so far and a block of `need` bytes. */
  private fresh(need: number): void {
    // Blocks staged in the memory outgrown stay there: their batch will be copied. Memory
    // never written to (a first block larger than it) was never sent either.
    if (this.current?.blocks === 0) recycle(this.current.memory);
    else if (this.current !== null) this.cutOff.push(this.current);
    this.size = Math.max(this.size, grown(this.batchBytes + need));
    const at = spare.findIndex((m) => m.byteLength >= this.size);
    const memory = at >= 0 ? spare.splice(at, 1)[0] : new SharedArrayBuffer(this.size);
    this.current = { memory, blocks: 0, bytes: 0 };
    this.bytes = new Uint8Array(memory);
  }
}

/** Memory no batch in flight holds: kept for later batches (of this feed or the next). */
function recycle(memory: SharedArrayBuffer): void {
  let kept = memory.byteLength;
  for (const m of spare) kept += m.byteLength;
  if (spare.length < SPARE_KEPT && kept <= SPARE_MAX_BYTES) spare.push(memory);
}

/** Whether `rows`' header blocks are all that `staged` holds, in order from its start. */
function fills(staged: StagedMemory, rows: FedMessage[]): boolean {
  if (staged.blocks !== rows.length) return false;
  let at = 0;
  for (const row of rows) {
    if (row.header.buffer !== staged.memory || row.header.byteOffset !== at) return false;
    at += row.header.byteLength;
  }
  return at === staged.bytes;
}
