import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { parseMaildirsize, parseQuotaSpec, parseSize, readMaildirsize, readQuotaFile } from "../../src/report/quota.js";
import { tempDir } from "../helpers/mbox.js";

test("maildirsize: limits from the first line, usage summed from the rest, 0 = no limit", () => {
  // As Dovecot and Courier write it: a header, deliveries, an expunge with negative numbers.
  assert.deepEqual(parseMaildirsize("1000000S,1000C\n  2500 1\n 4000 2\n-2500 -1\n"), { limitBytes: 1000000, limitMessages: 1000, usedBytes: 4000, usedMessages: 2 });
  assert.deepEqual(parseMaildirsize("0S,50C\n10 1\n"), { limitMessages: 50, usedBytes: 10, usedMessages: 1 });
  assert.deepEqual(parseMaildirsize("5242880S\n"), { limitBytes: 5242880, usedBytes: 0, usedMessages: 0 });
  assert.deepEqual(parseMaildirsize("garbage\nnot a line\n7 1\n"), { usedBytes: 7, usedMessages: 1 });
});

test("maildirsize planted as a symlink is not read through", () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, "real"), "100S\n50 1\n");
  fs.symlinkSync(path.join(dir, "real"), path.join(dir, "maildirsize"));
  assert.equal(readMaildirsize(path.join(dir, "maildirsize")), undefined);
  assert.deepEqual(readMaildirsize(path.join(dir, "real")), { limitBytes: 100, usedBytes: 50, usedMessages: 1 });
});

test("quota specs and quota files", () => {
  assert.equal(parseSize("2G"), 2 * 1024 ** 3);
  assert.equal(parseSize("1.5M"), 1.5 * 1024 ** 2);
  assert.equal(parseSize("750kB"), 750 * 1024);
  assert.equal(parseSize("12x"), undefined);
  assert.deepEqual(parseQuotaSpec("2G,50000"), { bytes: 2 * 1024 ** 3, messages: 50000 });
  assert.deepEqual(parseQuotaSpec("-,100"), { messages: 100 });
  assert.equal(parseQuotaSpec("2G,many"), undefined);
  const dir = tempDir();
  const file = path.join(dir, "quotas");
  fs.writeFileSync(file, "# site quotas\nalice 1G\nbob 500M,1000  # trimmed\n\n");
  assert.deepEqual([...readQuotaFile(file)], [["alice", { bytes: 1024 ** 3 }], ["bob", { bytes: 500 * 1024 ** 2, messages: 1000 }]]);
  fs.writeFileSync(file, "alice 1G\ncarol\n");
  assert.throws(() => readQuotaFile(file), /quotas:2: expected "user limit"/);
});
