import { Worker } from "node:worker_threads";

export interface PoolEvents<R> {
  progress?: (index: number, bytes: number, messages: number) => void;
  result: (index: number, result: R) => void;
}

export interface PoolOptions<T, R> {
  jobs: number;
  /** Passed to every worker as workerData. */
  shared: unknown;
  /** Tasks with the same key never run at the same time (one user's Maildir, journal, keywords). */
  keyOf: (task: T) => string;
  /** The result for a task whose worker died. */
  crashed: (task: T, error: Error) => R;
}

/**
 * Runs each task on one of `jobs` worker threads, in order, except that a task waits while
 * another with its key runs. A worker that dies takes only its own task down: that task is
 * reported through `crashed` and a fresh worker carries on.
 */
export async function runPool<T, R>(workerFile: URL, tasks: T[], opts: PoolOptions<T, R>, events: PoolEvents<R>): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  const waiting = tasks.map((_, i) => i);
  const busyKeys = new Set<string>();
  let wake: (() => void)[] = [];
  const finished = (index: number, result: R) => {
    results[index] = result;
    busyKeys.delete(opts.keyOf(tasks[index]));
    events.result(index, result);
    const sleepers = wake;
    wake = [];
    for (const w of sleepers) w();
  };
  /** The next runnable task, waiting while all remaining ones are blocked by a busy key; -1 when none is left. */
  const next = async (): Promise<number> => {
    for (;;) {
      if (waiting.length === 0) return -1;
      const at = waiting.findIndex((i) => !busyKeys.has(opts.keyOf(tasks[i])));
      if (at >= 0) {
        const index = waiting.splice(at, 1)[0];
        busyKeys.add(opts.keyOf(tasks[index]));
        return index;
      }
      await new Promise<void>((resolve) => wake.push(resolve));
    }
  };

  const lane = async () => {
    let worker: Worker | null = null;
    for (let index = await next(); index >= 0; index = await next()) {
      if (!worker) {
        worker = new Worker(workerFile, { workerData: opts.shared });
        // Between tasks nobody listens; an unheard "error" event would throw here.
        worker.on("error", () => undefined);
      }
      const current = worker;
      const outcome = await new Promise<{ ok: true; result: R } | { ok: false; error: Error }>((resolve) => {
        const onMessage = (msg: { type: "progress" | "result"; index: number; bytes?: number; messages?: number; result?: R }) => {
          if (msg.type === "progress") events.progress?.(msg.index, msg.bytes ?? 0, msg.messages ?? 0);
          else done({ ok: true, result: msg.result as R });
        };
        const onError = (error: Error) => done({ ok: false, error });
        const onExit = (code: number) => done({ ok: false, error: new Error(`worker exited with code ${code}`) });
        const done = (o: { ok: true; result: R } | { ok: false; error: Error }) => {
          current.off("message", onMessage).off("error", onError).off("exit", onExit);
          resolve(o);
        };
        current.on("message", onMessage).on("error", onError).on("exit", onExit);
        current.postMessage({ index, task: tasks[index] });
      });
      if (outcome.ok) finished(index, outcome.result);
      else {
        finished(index, opts.crashed(tasks[index], outcome.error));
        void current.terminate();
        worker = null;
      }
    }
    if (worker) await worker.terminate();
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, tasks.length)) }, lane));
  return results;
}
