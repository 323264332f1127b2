import assert from "node:assert/strict";
import { test } from "node:test";
import { userHash } from "../../src/maildir/layout.js";
import { bucketInShard, inShard, parseShard, resolveShard, shardOfUser } from "../../src/maildir/shard.js";

test("shards are disjoint, complete, contiguous ranges of hash prefixes", () => {
  const users = Array.from({ length: 3000 }, (_, i) => `user${i}@example.org`);
  for (const count of [1, 2, 3, 7, 16, 1000]) {
    const seen = new Map<string, number>();
    for (let k = 0; k < count; k++) for (const u of users) if (inShard(u, { index: k, count })) seen.set(u, (seen.get(u) ?? 0) + 1);
    assert.equal(seen.size, users.length, `${count} shards cover everyone`);
    assert.ok([...seen.values()].every((n) => n === 1), `${count} shards are disjoint`);
    // Contiguous: sorted by prefix, the shard number never goes down.
    const sorted = [...users].sort((a, b) => userHash(a).slice(0, 4).localeCompare(userHash(b).slice(0, 4)));
    const ks = sorted.map((u) => shardOfUser(u, count));
    assert.ok(ks.every((k, i) => i === 0 || k >= ks[i - 1]));
  }
  // Balanced within the statistics of 3,000 users over 3 shards.
  const sizes = [0, 1, 2].map((k) => users.filter((u) => shardOfUser(u, 3) === k).length);
  assert.ok(sizes.every((n) => n > 850 && n < 1150), String(sizes));
});

test("a bucket is walked by a shard only when it can hold the shard's users", () => {
  const users = Array.from({ length: 2000 }, (_, i) => `u${i}`);
  for (const count of [2, 3, 5]) {
    for (let k = 0; k < count; k++) {
      for (const u of users) {
        const h = userHash(u);
        if (inShard(u, { index: k, count })) {
          assert.ok(bucketInShard(h.slice(0, 2), { index: k, count }) && bucketInShard(h.slice(0, 4), { index: k, count }));
        }
      }
    }
  }
  // With 4 shards each level-1 bucket belongs to exactly one shard.
  assert.deepEqual([0, 1, 2, 3].map((k) => bucketInShard("7f", { index: k, count: 4 })), [false, true, false, false]);
});

test("shard specs: option, MAILSTORE_SHARD, Kubernetes Indexed Job, Slurm array", () => {
  assert.deepEqual(parseShard("2/5"), { index: 2, count: 5 });
  assert.throws(() => parseShard("5/5"), /K\/N with 0 <= K < N/);
  assert.throws(() => parseShard("1of4"), /--shard takes K\/N/);
  assert.deepEqual(resolveShard(undefined, { MAILSTORE_SHARD: "1/3" }), { index: 1, count: 3 });
  assert.deepEqual(resolveShard(undefined, { JOB_COMPLETION_INDEX: "3", MAILSTORE_SHARD_COUNT: "8" }), { index: 3, count: 8 });
  assert.deepEqual(resolveShard(undefined, { SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_MIN: "1", SLURM_ARRAY_TASK_COUNT: "10" }), { index: 4, count: 10 });
  assert.deepEqual(resolveShard("0/2", { MAILSTORE_SHARD: "1/3" }), { index: 0, count: 2 });
  assert.equal(resolveShard(undefined, {}), undefined);
});
