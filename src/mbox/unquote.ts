/**
 * Undoes From_ quoting on a message's content, line by line, across chunk boundaries.
 * mboxrd: one ">" comes off every line matching /^>+From /.
 * mboxo:  ">From " becomes "From " (a line with more ">" is left alone).
 */
export type Unquoting = "none" | "mboxo" | "mboxrd";

const QUOTED_FROM = Buffer.from(">From ");
const FROM_LENGTH = "From ".length;
const GT = 0x3e;
const NL = 0x0a;

export class Unquoter {
  private atLineStart = true;
  private carry: Buffer | null = null;

  constructor(private readonly mode: Unquoting) {}

  /**
   * mayQuote false: the caller knows that no ">From " begins in `input` (it searched the
   * same bytes), so only the last line is looked at, for a quoted line cut short.
   */
  *transform(input: Buffer, mayQuote = true): Generator<Buffer> {
    if (this.mode === "none") {
      if (input.length) yield input;
      return;
    }
    let chunk = input;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
      this.atLineStart = true;
      mayQuote = true;
    }
    let emitFrom = 0;
    // Quoted From_ lines are found by their ">From ", then traced back to the start of their
    // line: a pattern that begins with a newline makes Buffer.indexOf stop at every line
    // (measured on the bench mbox: "\nFrom " is searched at 1.7 GB/s, "From " at 3.5 GB/s).
    for (let hit = mayQuote ? chunk.indexOf(QUOTED_FROM) : -1; hit >= 0; hit = chunk.indexOf(QUOTED_FROM, hit + QUOTED_FROM.length)) {
      let lineStart = hit;
      while (lineStart > 0 && chunk[lineStart - 1] === GT) lineStart--;
      const atLineStart = lineStart > 0 ? chunk[lineStart - 1] === NL : this.atLineStart;
      if (atLineStart && (this.mode === "mboxrd" || lineStart === hit)) {
        if (lineStart > emitFrom) yield chunk.subarray(emitFrom, lineStart);
        emitFrom = lineStart + 1;
      }
    }
    // The last line may be a quoted From_ line cut short: undecidable until more arrives.
    const lastLine = chunk.lastIndexOf(NL) + 1;
    if ((lastLine > 0 || this.atLineStart) && chunk[lastLine] === GT) {
      let k = lastLine;
      while (k < chunk.length && chunk[k] === GT) k++;
      if (k + FROM_LENGTH > chunk.length) {
        if (lastLine > emitFrom) yield chunk.subarray(emitFrom, lastLine);
        this.carry = Buffer.from(chunk.subarray(lastLine));
        return;
      }
    }
    if (emitFrom < chunk.length) yield chunk.subarray(emitFrom);
    this.atLineStart = chunk.length > 0 ? chunk[chunk.length - 1] === NL : this.atLineStart;
  }

  /** What is still held back at the end of the message. */
  *flush(): Generator<Buffer> {
    if (this.carry) yield this.carry;
    this.carry = null;
    this.atLineStart = true;
  }
}
