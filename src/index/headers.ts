import { createRequire } from "node:module";
import path from "node:path";
import { nativeAddon } from "../util/native.js";
import { headerValuesOf, parseDateHeader } from "../util/rfc5322.js";

// Loaded on first use, each on its own: a run that finds nothing new (the nightly no-change
// case) parses no header at all, and most headers need neither. The address parser is loaded
// from mailparser's own module (address-header.js) rather than through mailparser's index
// (the whole streaming parser, twice the load time); if a mailparser release moves that file,
// the index is used.
const require = createRequire(import.meta.url);
let decodeWords: ((s: string) => string) | undefined;
let parseAddressHeader: ((s: string) => unknown) | undefined;

type Libmime = { decodeWords(s: string): string; decodeWord(charset: string, encoding: string, text: string): string; normalizeCharset(charset: string): string };

/** Charsets (as libmime names them) that read bytes 0x00-0x7f as ASCII. */
const ASCII_SUPERSET = /^(?:windows-125[0-8]|iso-8859-\d{1,2})$/i;

/** The two modules libmime decodes Japanese charsets with, as libmime itself resolves them. */
export interface JapaneseDecoding {
  /** Does iconv-lite know the charset? */
  known(charset: string): boolean;
  /** encoding-japanese's convert to a string, as libmime calls it. */
  convert(bytes: Buffer, charset: string): unknown;
}

// libmime's rule for charsets it hands to encoding-japanese (its charset.js).
const JAPANESE_CHARSET = /^jis|^iso-?2022-?jp|^EUCJP/i;

/**
 * libmime's decodeWords (its rules for joining adjacent words) with one word decoded faster
 * when the result cannot differ. Most words in single-byte charsets (us-ascii, iso-8859-*,
 * windows-125x, which libmime decodes through iconv-lite, ~5 us a word) carry only ASCII:
 * such a word is decoded as UTF-8 (libmime's own path without iconv), and that text is kept
 * when it is all ASCII, which it is only when every byte was. A word in ISO-2022-JP (or
 * another Japanese charset iconv-lite does not know) goes straight to encoding-japanese:
 * libmime first asks iconv-lite for the codec, which throws, and the exception costs
 * ~80 us a word. Other words go to libmime whole.
 */
export function fastWordDecoder(libmime: Libmime, japanese?: JapaneseDecoding): (s: string) => string {
  const fast = Object.create(libmime) as Libmime;
  const unknownJapanese = new Map<string, boolean>();
  fast.decodeWord = (charset, encoding, text) => {
    const star = charset.indexOf("*");
    const name = libmime.normalizeCharset(star >= 0 ? charset.slice(0, star) : charset);
    if (ASCII_SUPERSET.test(name)) {
      const ascii = libmime.decodeWord("utf-8", encoding, text);
      if (!/[^\x00-\x7f]/.test(ascii)) return ascii;
    }
    if (japanese && JAPANESE_CHARSET.test(name)) {
      // libmime normalizes the name again before decoding with it.
      const charsetName = libmime.normalizeCharset(name);
      let unknown = unknownJapanese.get(charsetName);
      if (unknown === undefined) unknownJapanese.set(charsetName, (unknown = !japanese.known(charsetName)));
      if (unknown) {
        // The word's bytes: "binary" is iconv-lite's byte-for-byte charset.
        const bytes = Buffer.from(libmime.decodeWord("binary", encoding, text), "latin1");
        try {
          const out = japanese.convert(bytes, charsetName);
          if (typeof out === "string") return out;
        } catch {
          // libmime's fallback below
        }
        return bytes.toString();
      }
    }
    return libmime.decodeWord(charset, encoding, text);
  };
  // A value that is one encoded word and nothing else (most encoded values) needs none of
  // decodeWords' joining passes (five regular expressions over it): its word is decoded alone.
  return (s) => {
    const single = SINGLE_WORD.exec(s);
    return single ? fast.decodeWord(single[1], single[2], single[3]) : fast.decodeWords(s);
  };
}

// libmime's pattern for a word, anchored to the whole value.
const SINGLE_WORD = /^=\?([\w_\-*]+)\?([QqBb])\?([^?]*)\?=$/;

/** libmime's own iconv-lite and encoding-japanese: the instances its decoding uses. */
export function libmimeJapanese(): JapaneseDecoding {
  const fromLibmime = createRequire(require.resolve("libmime"));
  const iconv = fromLibmime("iconv-lite") as { encodingExists(name: string): boolean };
  const encoding = fromLibmime("encoding-japanese") as { convert(data: Buffer, opts: object): unknown };
  return { known: (charset) => iconv.encodingExists(charset), convert: (bytes, charset) => encoding.convert(bytes, { to: "UNICODE", from: charset, type: "string" }) };
}

function wordDecoder(): (s: string) => string {
  decodeWords ??= fastWordDecoder(require("libmime") as Libmime, libmimeJapanese());
  return decodeWords;
}

function addressParser(): (s: string) => unknown {
  if (parseAddressHeader) return parseAddressHeader;
  type Module = { parseAddressHeader?: (s: string) => unknown };
  try {
    const main = require.resolve("mailparser");
    const direct = (require(path.join(path.dirname(main), "address-header.js")) as Module).parseAddressHeader;
    if (typeof direct === "function") return (parseAddressHeader = direct);
  } catch {
    // fall through to the package's index
  }
  return (parseAddressHeader = (require("mailparser") as Required<Module>).parseAddressHeader);
}

/** The header fields the index keeps, decoded (RFC 2047 words, charsets, address lists). */
export interface IndexedHeaders {
  date: number | null;
  from: string;
  to: string;
  cc: string;
  subject: string;
  messageId: string;
  inReplyTo: string;
  references: string;
  /** From the top-level Content-Type/Disposition alone; null when the header block cannot tell. */
  hasAttachments: boolean | null;
}

// In the order parseHeaders takes their values.
const FIELDS = ["date", "from", "to", "cc", "subject", "message-id", "in-reply-to", "references", "content-type", "content-disposition"];

function decode(value: string | undefined): string {
  if (!value) return "";
  // Most values hold no encoded word: libmime would hand them back as they are.
  if (!value.includes("=?")) return value.replace(/\s+/g, " ").trim();
  try {
    return wordDecoder()(value).replace(/\s+/g, " ").trim();
  } catch {
    return value.trim();
  }
}

// The common shapes of an address header, in plain ASCII: "local@domain", "<local@domain>",
// "Display Name <local@domain>" (a name of letters, digits, spaces, dots, hyphens and
// apostrophes), "\"Quoted Name\" <local@domain>", "local@domain (Comment Name)" (the old
// style bounces and many MTAs still use; the parser makes the comment the display name), and
// comma-separated lists of those (when no quote could hide a comma). Anything else (comments,
// groups, escapes, encoded words, 8-bit, IDN) goes to mailparser's parser, except the
// addresses without a domain below. test/index/headers.test.ts holds the two to the same output.
const LOCAL = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+";
const ADDR = `${LOCAL}@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*`;
const BARE = new RegExp(`^\\s*(?:(${ADDR})|<(${ADDR})>)\\s*$`);
const NAMED = new RegExp(`^\\s*([A-Za-z0-9][A-Za-z0-9 .'-]*?)\\s*<(${ADDR})>\\s*$`);
const QUOTED = new RegExp(`^\\s*"([\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]*)"\\s*<(${ADDR})>\\s*$`);
// A display name made only of encoded words (quoted or not) before one <local@domain>: the
// parser would decode the name with libmime and quote it; done here without the parser. The
// words' text is kept to characters that cannot be address syntax.
const WORD = "=\\?[A-Za-z0-9_-]+\\?[BbQq]\\?[A-Za-z0-9+/=_-]*\\?=";
const ENCODED_NAME = new RegExp(`^\\s*("?)(${WORD}(?:[ \\t]+${WORD})*)\\1\\s*<(${ADDR})>\\s*$`);
const COMMENTED = new RegExp(`^\\s*(${ADDR})\\s*\\(([A-Za-z0-9][A-Za-z0-9 .'-]*)\\)\\s*$`);
// Addresses without a domain, as bounces carry them: "<>", "MAILER-DAEMON <>", "postmaster",
// "<postmaster>", "Mail Delivery Subsystem <MAILER-DAEMON>". The parser reads a lone word as
// a name; a name the same as its address it gives once, and that case is left to it.
const BARE_LOCAL = new RegExp(`^\\s*(?:(${LOCAL})|<(${LOCAL})?>)\\s*$`);
const NAMED_LOCAL = new RegExp(`^\\s*([A-Za-z0-9][A-Za-z0-9 .'-]*?)\\s*<(${LOCAL})?>\\s*$`);

/** A display name as the parser gives it (spaces collapsed); null where it would read the dots otherwise. */
function displayName(raw: string): string | null {
  return /\.\.|^\.|\.$/.test(raw.trim()) ? null : raw.replace(/\s+/g, " ").trim();
}

function plainAddress(part: string): string | null {
  const bare = BARE.exec(part);
  if (bare) return bare[1] ?? bare[2];
  const commented = COMMENTED.exec(part);
  const named = NAMED.exec(part) ?? QUOTED.exec(part) ?? (commented ? [commented[0], commented[2], commented[1]] : null);
  const name = named ? displayName(named[1]) : null;
  if (!named || name === null) return null;
  return name === "" ? named[2] : `"${name}" <${named[2]}>`;
}

function localAddress(value: string): string | null {
  const bare = BARE_LOCAL.exec(value);
  if (bare) {
    const local = bare[1] ?? bare[2];
    return local === undefined ? "" : `"${local}"`;
  }
  const named = NAMED_LOCAL.exec(value);
  const name = named ? displayName(named[1]) : null;
  if (!named || name === null || name === named[2]) return null;
  return named[2] === undefined ? `"${name}"` : `"${name}" <${named[2]}>`;
}

/** An address header as mailparser's text: display names quoted, encoded words and IDNs decoded. */
export function addressText(value: string | undefined): string {
  if (!value) return "";
  const flat = value.includes("\n") ? value.replace(/\r?\n[ \t]+/g, " ") : value;
  const idnOrEightBit = flat.includes("xn--") || /[^\x20-\x7e\t]/.test(flat);
  if (!idnOrEightBit && !flat.includes("=?")) {
    const local = flat.includes("@") ? null : localAddress(flat);
    if (local !== null) return local;
    // A loop, not map() then every(): the array map() makes changed shape between calls,
    // which threw away the optimized parseHeaders (and its ~20 ms compile) in every run.
    const parts = flat.includes('"') ? [flat] : flat.split(",");
    let joined: string | null = "";
    for (let i = 0; i < parts.length && joined !== null; i++) {
      const plain = plainAddress(parts[i]);
      joined = plain === null ? null : i === 0 ? plain : `${joined}, ${plain}`;
    }
    if (joined !== null) return joined;
  }
  const encoded = idnOrEightBit ? null : ENCODED_NAME.exec(flat);
  if (encoded) {
    try {
      const name = wordDecoder()(encoded[2]);
      return decode(name === "" ? encoded[3] : `"${name.replace(/["\\]/g, "\\$&")}" <${encoded[3]}>`);
    } catch {
      // the parser's way with a word libmime cannot decode
    }
  }
  return addressTextByParser(value);
}

/** The same through mailparser's parseAddressHeader, for every shape. */
export function addressTextByParser(value: string): string {
  try {
    const list = addressParser()(value) as { text?: string };
    return decode(list.text ?? value);
  } catch {
    return decode(value);
  }
}

const trimmed = (value: string | undefined) => (value ?? "").trim();
const folded = (value: string | undefined) => (value ?? "").replace(/\s+/g, " ").trim();

/** How each field is finished from its value as headerValuesOf gives it, in FIELDS' order. */
const FINISH: ReadonlyArray<(value: string | undefined) => unknown> = [parseDateHeader, addressText, addressText, addressText, decode, trimmed, trimmed, folded];

/** The fields from their values (FIELDS' order), each finished unless bit k of `done` says it is final already. */
function finishFields(values: readonly unknown[], done: number, hasAttachments: boolean | null): IndexedHeaders {
  const field = (k: number) => (done & (1 << k) ? values[k] : FINISH[k](values[k] as string | undefined));
  return {
    date: field(0) as number | null,
    from: field(1) as string,
    to: field(2) as string,
    cc: field(3) as string,
    subject: field(4) as string,
    messageId: field(5) as string,
    inReplyTo: field(6) as string,
    references: field(7) as string,
    hasAttachments,
  };
}

/** Field k (FIELDS' order, 0-7) finished from its unfolded value, as parseHeaders finishes what the addon leaves. */
export function finishField(k: number, value: string | undefined): unknown {
  return FINISH[k](value);
}

const nativeOut: unknown[] = new Array(9);

/**
 * The fields the index keeps, from a message's header block. Native where the addon is, for
 * the shapes it knows (native/index-fields.c); each field it leaves is finished here from its
 * value, as parseHeadersInJs finishes it. The two give the same fields: a test holds them to it.
 */
export function parseHeaders(block: Buffer): IndexedHeaders {
  const addon = nativeAddon();
  if (!addon) return parseHeadersInJs(block);
  const done = addon.indexFields(block, nativeOut);
  return finishFields(nativeOut, done, nativeOut[8] as boolean | null);
}

/** parseHeaders without the addon. */
export function parseHeadersInJs(block: Buffer): IndexedHeaders {
  const values = headerValuesOf(block, FIELDS);
  const type = (values[8] ?? "").toLowerCase();
  const disposition = (values[9] ?? "").toLowerCase();
  let hasAttachments: boolean | null = null;
  if (disposition.startsWith("attachment")) hasAttachments = true;
  else if (/^multipart\/(mixed|report|related)/.test(type)) hasAttachments = true;
  else if (type === "" || /^(text\/|multipart\/alternative)/.test(type)) hasAttachments = false;
  return finishFields(values, 0, hasAttachments);
}
