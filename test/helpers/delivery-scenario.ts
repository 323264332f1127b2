import fs from "node:fs";
import path from "node:path";
import { FolderWriter } from "../../src/maildir/delivery.js";

/**
 * Writes a group of messages into a fresh Maildir folder at `dir`, publishes them, then tries
 * to write over a tmp/ name and to publish onto a taken name. Returns what happened, as JSON,
 * so that a process with the native addon and one without (MAILSTORE_NO_NATIVE=1) compare.
 */
export async function deliveryScenario(dir: string): Promise<string> {
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const writer = new FolderWriter(dir, { sync: "durable" });
  const when = new Date("2008-09-18T17:03:04Z");
  const big = Buffer.alloc(3 * 1024 * 1024, "x");
  await writer.writeGroup([
    { tmpName: "a", pieces: [Buffer.from("Subject: a\n\n"), Buffer.from("body a\n")], mtime: when },
    { tmpName: "b", pieces: [Buffer.from("Subject: b\n\nbody b\n")], mtime: new Date(0) },
    { tmpName: "c", pieces: [big], mtime: when },
  ]);
  await writer.flush([{ tmpName: "a", finalName: "", subdir: "new" }]);
  await writer.publish([
    { tmpName: "a", subdir: "new", finalName: "fresh" },
    { tmpName: "b", subdir: "cur", finalName: "old:2,S" },
  ]);
  fs.writeFileSync(path.join(dir, "cur", "taken:2,S"), "already here\n");
  const codeOf = async (work: () => Promise<void>) => {
    try {
      await work();
      return "ok";
    } catch (err) {
      return `${(err as NodeJS.ErrnoException).code}${(err as Error).message.includes(dir) ? " (names the file)" : ""}`;
    }
  };
  const rewrite = await codeOf(() => writer.writeGroup([{ tmpName: "c", pieces: [Buffer.from("other")], mtime: when }]));
  const replace = await codeOf(() => writer.publish([{ tmpName: "c", subdir: "cur", finalName: "taken:2,S" }]));
  const stat = (p: string) => fs.statSync(path.join(dir, p));
  return JSON.stringify({
    fresh: fs.readFileSync(path.join(dir, "new", "fresh"), "utf8"),
    old: fs.readFileSync(path.join(dir, "cur", "old:2,S"), "utf8"),
    mtimes: [stat("new/fresh").mtimeMs, stat("cur/old:2,S").mtimeMs, stat("tmp/c").mtimeMs],
    modes: [stat("new/fresh").mode & 0o777, stat("tmp/c").mode & 0o777],
    bigSize: stat("tmp/c").size,
    rewrite,
    replace,
    taken: fs.readFileSync(path.join(dir, "cur", "taken:2,S"), "utf8"),
    tmp: fs.readdirSync(path.join(dir, "tmp")).sort(),
  });
}
