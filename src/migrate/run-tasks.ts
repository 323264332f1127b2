import { removeHeldFiles } from "../util/held-files.js";
import { dropPrestarted, type PoolEvents, type PoolOptions, runPool } from "./pool.js";
import type { MailboxTask } from "./task.js";
import type { SharedOptions } from "./task-runner.js";

const WORKER = new URL("./worker.js", import.meta.url);

/**
 * Runs a command's mailbox tasks: on the pool's worker threads (pool.ts), or a lone task on
 * this thread. A lone task gains nothing from a worker (no other mailbox runs beside it, or
 * needs protecting from it) and would wait for one: a worker thread boots and loads the code
 * on its own (~0.1 s before a migration's first message, on 2 cores) while this thread,
 * booted already, has nothing left to do but wait. It fails as it would on a worker
 * (runAlone), and the progress and result events come the same way.
 */
export async function runTasks<R>(tasks: MailboxTask[], opts: PoolOptions<MailboxTask, R> & { shared: SharedOptions }, events: PoolEvents<R>): Promise<R[]> {
  if (tasks.length !== 1) return runPool(WORKER, tasks, opts, events);
  dropPrestarted(WORKER);
  const { prepare, runTask } = await import("./task-runner.js");
  prepare(opts.shared);
  const [task] = tasks;
  const result = await runAlone(task, (report) => runTask(opts.shared, task, report) as Promise<R>, opts.crashed, (bytes, messages) => events.progress?.(0, bytes, messages));
  events.result(0, result);
  return [result];
}

/**
 * Runs a task's `work` on this thread, failing it as a pool worker's death fails its task
 * when it throws where nothing catches it (in a callback, or in a promise nobody awaits):
 * the result is then `crashed`'s, and the lock files the task held are removed, as for a
 * dead worker's (while the task runs, the thread's held files are its own).
 */
export async function runAlone<T, R>(task: T, work: (report: (bytes: number, messages: number) => void) => Promise<R>, crashed: (task: T, error: Error) => R, report: (bytes: number, messages: number) => void): Promise<R> {
  let fail: (error: Error) => void = () => undefined;
  const uncaught = new Promise<never>((_, reject) => (fail = reject));
  const onError = (err: unknown) => fail(err instanceof Error ? err : new Error(String(err)));
  process.on("uncaughtException", onError);
  process.on("unhandledRejection", onError);
  try {
    return await Promise.race([work(report), uncaught]);
  } catch (err) {
    removeHeldFiles();
    return crashed(task, err as Error);
  } finally {
    process.off("uncaughtException", onError);
    process.off("unhandledRejection", onError);
  }
}
