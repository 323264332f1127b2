import assert from "node:assert/strict";
import { test } from "node:test";
import { feedThreadPays } from "../../src/migrate/task.js";

test("the index feed thread is used only where a core would otherwise idle, unless the environment decides", () => {
  const saved = process.env.MAILSTORE_INDEX_FEED_THREAD;
  try {
    delete process.env.MAILSTORE_INDEX_FEED_THREAD;
    assert.equal(feedThreadPays(1, 2), true, "one mailbox on two cores: the second core feeds its index");
    assert.equal(feedThreadPays(2, 2), false, "every core delivers: each feeds its own index");
    assert.equal(feedThreadPays(4, 2), false);
    assert.equal(feedThreadPays(1, 1), false, "one core: nothing to spare");
    process.env.MAILSTORE_INDEX_FEED_THREAD = "1";
    assert.equal(feedThreadPays(2, 2), true);
    process.env.MAILSTORE_INDEX_FEED_THREAD = "0";
    assert.equal(feedThreadPays(1, 8), false);
  } finally {
    if (saved === undefined) delete process.env.MAILSTORE_INDEX_FEED_THREAD;
    else process.env.MAILSTORE_INDEX_FEED_THREAD = saved;
  }
});
