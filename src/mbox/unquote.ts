/**
 * Undoes From_ quoting on a message's content, line by line, across chunk boundaries.
 * mboxrd: one ">" comes off every line matching /^>+From /.
 * mboxo:  ">From " becomes "From " (a line with more ">" is left alone).
 */
export type Unquoting = "none" | "mboxo" | "mboxrd";

const NL_GT = Buffer.from("\n>");
const FROM_ = Buffer.from("From ");
const GT = 0x3e;

export class Unquoter {
  private atLineStart = true;
  private carry: Buffer | null = null;

  constructor(private readonly mode: Unquoting) {}

  *transform(input: Buffer): Generator<Buffer> {
    if (this.mode === "none") {
      if (input.length) yield input;
      return;
    }
    let chunk = input;
    if (this.carry) {
      chunk = Buffer.concat([this.carry, input]);
      this.carry = null;
      this.atLineStart = true;
    }
    let emitFrom = 0;
    let lineStart = this.atLineStart ? 0 : nextQuotedLine(chunk, 0);
    while (lineStart >= 0 && lineStart < chunk.length) {
      if (chunk[lineStart] === GT) {
        let k = lineStart;
        while (k < chunk.length && chunk[k] === GT) k++;
        if (k + FROM_.length > chunk.length) {
          // Undecidable until more arrives: keep the line's start for the next chunk.
          if (lineStart > emitFrom) yield chunk.subarray(emitFrom, lineStart);
          this.carry = Buffer.from(chunk.subarray(lineStart));
          return;
        }
        const depth = k - lineStart;
        if ((this.mode === "mboxrd" || depth === 1) && chunk.compare(FROM_, 0, FROM_.length, k, k + FROM_.length) === 0) {
          if (lineStart > emitFrom) yield chunk.subarray(emitFrom, lineStart);
          emitFrom = lineStart + 1;
        }
      }
      lineStart = nextQuotedLine(chunk, lineStart + 1);
    }
    if (emitFrom < chunk.length) yield chunk.subarray(emitFrom);
    this.atLineStart = chunk.length > 0 ? chunk[chunk.length - 1] === 0x0a : this.atLineStart;
  }

  /** What is still held back at the end of the message. */
  *flush(): Generator<Buffer> {
    if (this.carry) yield this.carry;
    this.carry = null;
    this.atLineStart = true;
  }
}

function nextQuotedLine(chunk: Buffer, from: number): number {
  const hit = chunk.indexOf(NL_GT, from);
  return hit < 0 ? -1 : hit + 1;
}
