// npm run demo: migrates the bundled sample spool into ./demo-home, verifies it, and shows
// where everything went. Runs the built CLI exactly as an admin would.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const home = path.join(repo, "demo-home");
const spool = path.join(repo, "fixtures", "demo");
const cli = path.join(repo, "dist", "cli.js");
const run = (args) => {
  console.log(`\n$ mailstore ${args.map((a) => path.relative(repo, a) || a).join(" ")}`);
  return spawnSync(process.execPath, [cli, ...args], { stdio: "inherit" }).status;
};

fs.rmSync(home, { recursive: true, force: true });
const sources = ["alice", "bob", "carol"].map((u) => path.join(spool, u));
const migrated = run(["migrate", "--root", home, ...sources]);
const verified = run(["verify", "--root", home, ...sources]);
console.log("\nA file that is not an mbox fails alone, with its name and what is wrong (exit 1):");
run(["migrate", "--root", home, path.join(spool, "not-an-mbox")]);
console.log("\nRunning the same migration again adds nothing:");
run(["migrate", "--root", home, ...sources]);
run(["path", "--root", home, "alice"]);
console.log(`\nThe tree (${path.relative(repo, home)}/):`);
for (const user of ["alice", "bob", "carol"]) {
  const dir = spawnSync(process.execPath, [cli, "path", "--root", home, user], { encoding: "utf8" }).stdout.trim();
  const count = (sub) => fs.readdirSync(path.join(dir, sub)).length;
  console.log(`  ${path.relative(repo, dir)}  new/ ${count("new")}  cur/ ${count("cur")}`);
}
console.log("\nAn audit of the new tree, with a 320 KB quota for everyone so that some users stand out (exit 3: a critical hot spot):");
run(["report", "--root", home, "--quota", "320k", "--top", "5"]);
process.exit(migrated === 0 && verified === 0 ? 0 : 1);
