import type { FedMessage } from "../index/appender.js";
import type { HeaderArena } from "../index/feed-memory.js";
import { headerBlockOf } from "../index/heads.js";
import type { FolderWriter, StagedMessage } from "../maildir/delivery.js";
import { FLAG_FIELDS, flagsFromValues, infoSuffix } from "../maildir/flags.js";
import type { KeywordTable } from "../maildir/keywords.js";
import { finalName, type NameGenerator } from "../maildir/names.js";
import { MboxUids, UID_FIELDS } from "../mbox/imap-uids.js";
import type { MboxReader } from "../mbox/reader.js";
import { headerValuesOf, parseDateHeader } from "../util/rfc5322.js";
import type { Batches } from "./batches.js";
import type { MessageRow } from "./journal.js";
import type { MailboxResult, ProgressFn } from "./task.js";

/** Messages up to this size are written whole on the thread pool. */
const WHOLE_LIMIT = 1024 * 1024;

const DATE_FIELD = ["date"];
/** Flags and IMAP/POP3 identities, read in one pass over the header. */
const BOOKKEEPING_FIELDS = [...FLAG_FIELDS, ...UID_FIELDS];
const UID_AT = FLAG_FIELDS.length;

/**
 * The received time: the From_ line date, else the Date header, else the source's mtime, in
 * whole seconds (IMAP's INTERNALDATE has no finer grain). Whole seconds also survive the
 * file's timestamps exactly, so the index feed can give a message's received time without a
 * stat and agree with a scan.
 */
export function receivedTime(envelopeDate: Date | null, header: Buffer, fallback: Date): Date {
  const ms = envelopeDate ? envelopeDate.getTime() : parseDateHeader(headerValuesOf(header, DATE_FIELD, { latin1: true })[0]);
  return new Date(Math.floor((ms ?? fallback.getTime()) / 1000) * 1000);
}

type NextMessage = NonNullable<ReturnType<MboxReader["nextMessage"]>>;

/**
 * One message of a delivery, from the reader's framing to a staged file and a batch row. The
 * step is synchronous and returns a promise only when the caller must wait (a batch was cut):
 * the loop around it awaits a few hundred times a mailbox instead of twice a message, and this
 * function stays small enough for V8 to recompile cheaply when the shapes it has seen change
 * (the loop inside deliver() cost ~270 ms of compiler time on 30,000 messages).
 */
export class MessageStep {
  /** Sequence number of the next message in the source (the journal's seq). */
  private seq: number;
  /** File offset just past the last message handled. */
  private position: number;
  /** The source's X-UIDs and X-UIDLs (see carryUids). */
  readonly uids = new MboxUids();

  constructor(
    private readonly ctx: {
      writer: FolderWriter;
      batches: Batches<FedMessage>;
      names: NameGenerator;
      keywords: KeywordTable;
      tmpPrefix: string;
      sourceMtime: Date;
      /** Where each message's header block goes for the index feed; null when there is no feed. */
      headers: HeaderArena | null;
      result: MailboxResult;
      progress: ProgressFn;
    },
    seq: number,
    position: number,
  ) {
    this.seq = seq;
    this.position = position;
  }

  /** Stages one message; a promise when the batch it completed must be published before the next. */
  deliver(next: NextMessage): Promise<void> | null {
    const { writer, batches, result } = this.ctx;
    const { message } = next;
    if (message.pseudo) {
      this.uids.pseudo(message.header);
      const content = next.content();
      let step = content.next();
      while (!step.done) step = content.next();
      result.skippedPseudo++;
      this.advance(step.value.end, 0);
      return null;
    }
    const values = headerValuesOf(message.header, BOOKKEEPING_FIELDS, { latin1: true });
    const flags = flagsFromValues(values);
    const info = flags.cur ? infoSuffix(flags.flags, this.ctx.keywords.letters(flags.keywords)) : null;
    const tmpName = `${this.ctx.tmpPrefix}${this.seq}`;
    const mtime = receivedTime(message.envelope.date, message.header, this.ctx.sourceMtime);
    const content = next.content();
    // Collect up to WHOLE_LIMIT bytes (views into the reader's buffers, read into again only
    // once the group write holding them is done: ReusedWindows); a message that fits is
    // written on the thread pool, a larger one is streamed to its file here.
    const head: Buffer[] = [];
    let size = 0;
    let step = content.next();
    for (; !step.done && size <= WHOLE_LIMIT; step = content.next()) {
      head.push(step.value);
      size += step.value.length;
    }
    const whole = step.done;
    if (!whole) {
      const out = writer.open(tmpName);
      try {
        for (const piece of head) writer.write(out, piece);
        for (; !step.done; step = content.next()) {
          writer.write(out, step.value);
          size += step.value.length;
        }
      } finally {
        writer.close(out, mtime);
      }
    }
    const end = step.value;
    if (end.truncated) result.warnings.push(`the last message (at byte ${message.offset}) ends without a newline: it may have been cut short; migrated as it stands`);
    const name = finalName(this.ctx.names.next(), size, info);
    const subdir = flags.cur ? "cur" : "new";
    const headers = this.ctx.headers;
    const fed: FedMessage | undefined = headers ? { name, subdir, size, received: mtime.getTime(), header: headers.add(headerBlockOf(head)) } : undefined;
    const staged: StagedMessage = { tmpName, finalName: name, subdir, fd: -1 };
    const row: MessageRow = { seq: this.seq, offset: message.offset, end: end.end, crc: end.crc, name, subdir, size };
    this.uids.read(row, values, UID_AT, this.seq === 0);
    // Queued for writing only now, next to add(): a message written is always in the batch,
    // whose failure discards what it holds (an unnamed file's descriptor).
    if (whole) batches.writeWhole({ staged, pieces: head, mtime }, size);
    const cut = batches.add(staged, row, fed, fed?.header.byteLength);
    // The batch ends with this message: the next one's header blocks go to other memory.
    if (cut) headers?.cut();
    this.seq++;
    result.messages++;
    result.bytes += size;
    this.advance(end.end, 1);
    return cut;
  }

  private advance(end: number, messages: number): void {
    this.ctx.progress(end - this.position, messages);
    this.position = end;
  }
}
