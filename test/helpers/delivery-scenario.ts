import fs from "node:fs";
import path from "node:path";
import { FolderWriter, type StagedMessage } from "../../src/maildir/delivery.js";

const staged = (tmpName: string, subdir: "new" | "cur", finalName: string): StagedMessage => ({ tmpName, subdir, finalName, fd: -1 });

/**
 * This process's open descriptors of files under `dir` (an unnamed one reads
 * "<dir>/tmp/#<inode> (deleted)"): only the scenario's own, whatever else the process (the
 * test runner, tsx's loader) opens or closes meanwhile.
 */
export const openDescriptors = (dir: string) =>
  fs.readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(`${dir}/`);
    } catch {
      return false;
    }
  }).length;

/**
 * Writes a group of messages into a fresh Maildir folder at `dir` and publishes them; then
 * writes one staged name twice, and publishes onto a taken name. Returns what happened, as
 * JSON, so that the ways of staging compare: unnamed files held open (the native default),
 * named tmp/ files from the native jobs (`named`), and from fs callbacks (a process run with
 * MAILSTORE_NO_NATIVE=1).
 */
export async function deliveryScenario(dir: string, named = false): Promise<string> {
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const descriptorsBefore = openDescriptors(dir);
  const writer = new FolderWriter(dir, { sync: "durable", unnamed: !named });
  const probeLeft = fs.readdirSync(path.join(dir, "tmp"));
  const when = new Date("2008-09-18T17:03:04Z");
  const big = Buffer.alloc(3 * 1024 * 1024, "x");
  const batch = [staged("a", "new", "fresh"), staged("b", "cur", "old:2,S"), staged("c", "cur", "big:2,S")];
  await writer.writeGroup([
    { staged: batch[0], pieces: [Buffer.from("Subject: a\n\n"), Buffer.from("body a\n")], mtime: when },
    { staged: batch[1], pieces: [Buffer.from("Subject: b\n\nbody b\n")], mtime: new Date(0) },
    { staged: batch[2], pieces: [big], mtime: when },
  ]);
  const held = batch.map((m) => m.fd >= 0);
  await writer.flush(batch);
  await writer.publish(batch);
  fs.writeFileSync(path.join(dir, "cur", "taken:2,S"), "already here\n");
  const codeOf = async (work: () => Promise<void>) => {
    try {
      await work();
      return "ok";
    } catch (err) {
      return `${(err as NodeJS.ErrnoException).code}${(err as Error).message.includes(dir) ? " (names the file)" : ""}`;
    }
  };
  const twice = [staged("d", "new", "d1"), staged("d", "new", "d2")];
  await writer.writeGroup([{ staged: twice[0], pieces: [Buffer.from("first")], mtime: when }]);
  const rewrite = await codeOf(() => writer.writeGroup([{ staged: twice[1], pieces: [Buffer.from("other")], mtime: when }]));
  writer.discard(twice);
  const onto = staged("e", "cur", "taken:2,S");
  await writer.writeGroup([{ staged: onto, pieces: [Buffer.from("not to be seen")], mtime: when }]);
  const replace = await codeOf(() => writer.publish([onto]));
  const stat = (p: string) => fs.statSync(path.join(dir, p));
  const finals = ["new/fresh", "cur/old:2,S", "cur/big:2,S"];
  return JSON.stringify({
    held,
    probeLeft,
    fresh: fs.readFileSync(path.join(dir, "new", "fresh"), "utf8"),
    old: fs.readFileSync(path.join(dir, "cur", "old:2,S"), "utf8"),
    mtimes: finals.map((f) => stat(f).mtimeMs),
    modes: finals.map((f) => stat(f).mode & 0o777),
    bigSize: stat("cur/big:2,S").size,
    rewrite,
    replace,
    taken: fs.readFileSync(path.join(dir, "cur", "taken:2,S"), "utf8"),
    tmp: fs.readdirSync(path.join(dir, "tmp")).sort(),
    leakedDescriptors: openDescriptors(dir) - descriptorsBefore,
  });
}
