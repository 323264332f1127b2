/** Leading bytes that name a file's format, and what to tell the admin who gave it. */
const SIGNS: Array<{ magic: Buffer; says: string }> = [
  { magic: Buffer.from([0x1f, 0x8b]), says: "it is gzip-compressed: decompress it (zcat) and migrate the result" },
  { magic: Buffer.from("BZh"), says: "it is bzip2-compressed: decompress it (bzcat) and migrate the result" },
  { magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), says: "it is xz-compressed: decompress it (xzcat) and migrate the result" },
  { magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), says: "it is zstd-compressed: decompress it (zstdcat) and migrate the result" },
  { magic: Buffer.from("*mbx*"), says: "it is UW-IMAP's mbx format, not mbox: convert it to mbox first (UW-IMAP's mailutil copy)" },
  { magic: Buffer.from("\x01\x01\x01\x01"), says: "it is MMDF (messages between ^A^A^A^A lines), not mbox" },
];

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
/** A header field's name and colon (RFC 5322: printable ASCII but the colon). */
const HEADER_FIELD = /^[\x21-\x39\x3b-\x7e]+:/;

/**
 * What a file that does not begin with a From_ line is, when its first bytes say so: the
 * mistakes an admin makes pointing mailstore at a spool (a compressed archive, a single
 * message, UW-IMAP's mbx, MMDF), each with what to do instead. Null when the bytes say
 * nothing, and the caller shows them.
 */
export function nonMboxKind(start: Buffer): string | null {
  for (const { magic, says } of SIGNS) if (start.subarray(0, magic.length).equals(magic)) return says;
  if (start.subarray(0, 3).equals(UTF8_BOM) && start.subarray(3, 8).toString("latin1") === "From ") {
    // Not skipped: the framing rules have no place for bytes before the first From_ line.
    return "it begins with a UTF-8 byte order mark (EF BB BF) before its From_ line: remove those 3 bytes (tail -c +4) and migrate the result";
  }
  if (HEADER_FIELD.test(start.toString("latin1"))) return "it begins with a header field, as a single message (.eml) does: an mbox frames each message with a From_ line";
  return null;
}
