// Builds the report benchmark's tree: a hashed Maildir tree of USERS users holding about
// PER_USER message files each (INBOX cur/new and two folders), message bodies cut from the
// fixture messages, names carrying ,S=<size> as Dovecot writes them. Reused between runs:
// a finished tree leaves a marker file.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export function makeReportTree(root, { users, perUser, repo }) {
  const marker = path.join(root, ".bench-complete");
  const want = `${users}x${perUser}\n`;
  if (fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === want) return false;
  fs.rmSync(root, { recursive: true, force: true });
  const emlDir = path.join(repo, "fixtures", "eml", "lf");
  const real = fs.readdirSync(emlDir).sort().map((n) => fs.readFileSync(path.join(emlDir, n)));
  const folders = [["", 0.6], [".Sent", 0.15], [".Archive.2019", 0.25]];
  let seq = 0;
  for (let u = 0; u < users; u++) {
    const name = `user${String(u).padStart(5, "0")}`;
    const h = crypto.createHash("md5").update(name).digest("hex");
    const home = path.join(root, h.slice(0, 2), h.slice(2, 4), name);
    let quotaBytes = 0;
    let quotaCount = 0;
    for (const [folder, share] of folders) {
      const dir = path.join(home, folder);
      for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(dir, sub), { recursive: true, mode: 0o700 });
      if (folder) fs.writeFileSync(path.join(dir, "maildirfolder"), "");
      const n = Math.round(perUser * share);
      for (let i = 0; i < n; i++) {
        const body = real[(u * 31 + i) % real.length];
        const inNew = folder === "" && i % 25 === 0;
        const base = `${1600000000 + seq}.M${seq}P1.bench,S=${body.length}`;
        seq++;
        fs.writeFileSync(path.join(dir, inNew ? "new" : "cur", inNew ? base : `${base}:2,S`), body);
        quotaBytes += body.length;
        quotaCount++;
      }
    }
    fs.writeFileSync(path.join(home, "maildirsize"), `${(u % 10) * 1000000 + 2000000}S,10000C\n${quotaBytes} ${quotaCount}\n`);
    fs.writeFileSync(path.join(home, "dovecot-uidlist"), "3 V1600000000 N1\n");
  }
  fs.writeFileSync(marker, want);
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root, users, perUser] = process.argv.slice(2);
  const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
  const t = Date.now();
  makeReportTree(path.resolve(root), { users: Number(users), perUser: Number(perUser), repo });
  console.log(`built in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
