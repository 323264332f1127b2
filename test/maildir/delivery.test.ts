import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { FolderWriter } from "../../src/maildir/delivery.js";
import { REPO, tempDir } from "../helpers/mbox.js";

/** Publishes two staged messages, the second onto a name that exists; returns what is left. */
function publishOverExisting(dir: string): string {
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  const writer = new FolderWriter(dir, { sync: "none" });
  fs.writeFileSync(writer.tmpPath("a"), "first\n");
  fs.writeFileSync(writer.tmpPath("b"), "second\n");
  fs.writeFileSync(path.join(dir, "cur", "taken:2,S"), "already here\n");
  writer.publish([{ tmpName: "a", subdir: "new", finalName: "fresh" }] as never);
  let code = "";
  try {
    writer.publish([{ tmpName: "b", subdir: "cur", finalName: "taken:2,S" }] as never);
  } catch (err) {
    code = (err as NodeJS.ErrnoException).code ?? "";
  }
  return JSON.stringify({
    code,
    fresh: fs.readFileSync(path.join(dir, "new", "fresh"), "utf8"),
    taken: fs.readFileSync(path.join(dir, "cur", "taken:2,S"), "utf8"),
    tmp: fs.readdirSync(path.join(dir, "tmp")).sort(),
  });
}

test("publishing never replaces a file, with renameat2 and with the link+unlink fallback alike", () => {
  const expected = JSON.stringify({ code: "EEXIST", fresh: "first\n", taken: "already here\n", tmp: ["b"] });
  assert.equal(publishOverExisting(tempDir()), expected);
  // The same in a process without the native addon (MAILSTORE_NO_NATIVE=1): link() + unlink().
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", `
    import fs from "node:fs"; import path from "node:path";
    const { FolderWriter } = await import(${JSON.stringify(path.join(REPO, "src", "maildir", "delivery.ts"))});
    const dir = ${JSON.stringify(tempDir())};
    for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    const w = new FolderWriter(dir, { sync: "none" });
    fs.writeFileSync(w.tmpPath("b"), "second\\n");
    fs.writeFileSync(path.join(dir, "cur", "taken"), "already here\\n");
    try { w.publish([{ tmpName: "b", subdir: "cur", finalName: "taken" }]); console.log("replaced"); } catch (e) { console.log(e.code, fs.readFileSync(path.join(dir, "cur", "taken"), "utf8").trim(), fs.existsSync(w.tmpPath("b"))); }
  `], { encoding: "utf8", env: { ...process.env, MAILSTORE_NO_NATIVE: "1" }, cwd: REPO });
  assert.equal(r.stdout.trim(), "EEXIST already here true", r.stderr);
});
