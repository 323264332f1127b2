// Builds the bundled sample spool (fixtures/demo/*) from the real messages in fixtures/eml.
// Run once by hand; its output is committed so the demo needs nothing but the repository.
import fs from "node:fs";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const eml = (kind) => fs.readdirSync(path.join(here, "..", "fixtures", "eml", kind)).sort().map((n) => fs.readFileSync(path.join(here, "..", "fixtures", "eml", kind, n)));
const lf = eml("lf");
const crlf = eml("crlf");
const quote = (b) => Buffer.from(b.toString("latin1").replace(/^(>*From )/gm, ">$1"), "latin1");
const frame = (msgs, eol, status) =>
  Buffer.concat(msgs.flatMap((m, i) => [Buffer.from(`From MAILER-DAEMON Thu Sep 18 17:${String(i % 60).padStart(2, "0")}:04 2008${eol}`), status(i) ? Buffer.from(status(i).replace(/\n/g, eol)) : Buffer.alloc(0), quote(m), Buffer.from(eol)]));

const out = path.join(here, "..", "fixtures", "demo");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "alice"), frame(lf.slice(0, 60), "\n", (i) => (i % 4 === 0 ? "Status: RO\n" : i % 4 === 1 ? "Status: O\nX-Status: F\n" : "")));
fs.writeFileSync(path.join(out, "bob"), frame(lf.slice(60), "\n", (i) => (i % 2 ? "Status: RO\nX-Status: A\n" : "")));
fs.writeFileSync(path.join(out, "carol"), frame(crlf, "\r\n", () => ""));
fs.writeFileSync(path.join(out, "not-an-mbox"), lf[0]);
