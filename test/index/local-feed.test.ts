import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import type { FedMessage } from "../../src/index/appender.js";
import { LocalFeed } from "../../src/index/local-feed.js";
import { dumpIndex } from "../helpers/index-dump.js";
import { tempDir } from "../helpers/mbox.js";

/**
 * Files a delivery made (their names carry its mark) whose header on disk says "disk", while
 * the header blocks the delivery hands the feed say "fed": the index shows which it read.
 */
function delivered(maildir: string, mark: string, count: number) {
  for (const sub of ["cur", "new", "tmp"]) fs.mkdirSync(path.join(maildir, sub), { recursive: true });
  return Array.from({ length: count }, (_, i) => {
    const body = Buffer.from(`Subject: disk ${i}\nMessage-ID: <${i}@example.org>\n\nbody ${i}\n`);
    const name = `${1700000000 + i}.M${i}${mark}host,S=${body.length}`;
    const file = path.join(maildir, "new", name);
    fs.writeFileSync(file, body);
    fs.utimesSync(file, 1700000000 + i, 1700000000 + i);
    return { name, size: body.length, received: (1700000000 + i) * 1000, block: Buffer.from(`Subject: fed ${i}\nMessage-ID: <${i}@example.org>\n\n`) };
  });
}

test("the delivering thread's feed adds each published batch's rows from the header blocks it is given, not from the files", async () => {
  const maildir = path.join(tempDir(), "user");
  const mark = "P1R0123abcd.";
  const files = delivered(maildir, mark, 5);
  const feed = new LocalFeed(maildir, maildir, mark);
  const batch = (from: number, to: number): FedMessage[] =>
    files.slice(from, to).map((f) => ({ name: f.name, subdir: "new", size: f.size, received: f.received, header: feed.headers.add(f.block) }));
  const first = batch(0, 3);
  feed.headers.cut();
  await feed.add(first);
  const second = batch(3, 5);
  feed.headers.cut();
  await feed.add(second);
  const summary = await feed.finish();
  assert.equal(summary.added, 5);
  const { messages } = dumpIndex(maildir) as { messages: Array<{ subject: string; uid: number }> };
  assert.deepEqual(
    messages.map((m) => [m.uid, m.subject]),
    files.map((_, i) => [i + 1, `fed ${i}`]),
  );
});

test("a delivering thread's feed that cannot open the index fails alone: adds are taken, finish rejects", async () => {
  const maildir = path.join(tempDir(), "user");
  const mark = "P1R0123abcd.";
  const files = delivered(maildir, mark, 2);
  fs.mkdirSync(path.join(maildir, "mailstore.sqlite.building"));
  const feed = new LocalFeed(maildir, maildir, mark);
  await feed.add(files.map((f) => ({ name: f.name, subdir: "new", size: f.size, received: f.received, header: feed.headers.add(f.block) })));
  await assert.rejects(feed.finish(), /mailstore\.sqlite\.building/);
});
