import { Worker } from "node:worker_threads";
import { type HeldFile, HeldFiles, noteHeld, noteReleased } from "../util/held-files.js";

export interface PoolEvents<R> {
  progress?: (index: number, bytes: number, messages: number) => void;
  result: (index: number, result: R) => void;
}

export interface PoolOptions<T, R> {
  jobs: number;
  /** Sent to every worker as its first message, { type: "init", shared }, before any task. */
  shared: unknown;
  /** Tasks with the same key never run at the same time (one user's Maildir, journal, keywords). */
  keyOf: (task: T) => string;
  /** The result for a task whose worker died. */
  crashed: (task: T, error: Error) => R;
  /**
   * Tasks a worker holds at once (default 1). Above 1, a worker that waits on I/O at the end
   * of a task (an index being flushed) works on its next task meanwhile.
   */
  depth?: number;
}

/** Workers started ahead of their pool (prestartWorker), by script. */
const warm = new Map<string, Worker[]>();

/** Workers running a pool's tasks (not the prestarted ones waiting, which hold nothing). */
const running = new Set<Worker>();

/** Set by stopPoolWorkers: a run being interrupted hands out no more tasks. */
let stopping = false;

/**
 * For a run being interrupted (see removeHeldFilesOnSignals): hands out no more tasks, and
 * has every running worker remove the lock files it holds and take no more; resolves to how
 * many they removed. A worker's own list is exact, where the notes it forwards may not have
 * arrived yet. One that does not answer within `timeoutMs` (busy in a long synchronous step)
 * counts 0: the caller removes what it was told of.
 */
export async function stopPoolWorkers(timeoutMs: number): Promise<number> {
  stopping = true;
  const replies = [...running].map(
    (worker) =>
      new Promise<number>((resolve) => {
        const done = (removed: number) => {
          clearTimeout(timer);
          worker.off("message", onMessage);
          worker.off("exit", onExit);
          resolve(removed);
        };
        const onMessage = (msg: { type?: string; removed?: number }) => {
          if (msg.type === "stopped") done(msg.removed ?? 0);
        };
        const onExit = () => done(0);
        const timer = setTimeout(() => done(0), timeoutMs);
        worker.on("message", onMessage);
        worker.once("exit", onExit);
        worker.postMessage({ type: "stop" });
      }),
  );
  return (await Promise.all(replies)).reduce((a, b) => a + b, 0);
}

/**
 * Starts a pool worker before its pool exists, so that its boot and the loading of its code
 * overlap whatever the caller does first (reading options, finding sources). `hint` becomes
 * its workerData: enough to begin loading (which code it will run), not its configuration,
 * which comes in its first message as for any pool worker. It keeps nothing alive until a
 * pool takes it; a pool that needs no more workers ends it.
 */
export function prestartWorker(workerFile: URL, hint: unknown): Worker {
  const worker = new Worker(workerFile, { workerData: hint });
  worker.unref();
  const list = warm.get(workerFile.href) ?? [];
  list.push(worker);
  warm.set(workerFile.href, list);
  // One that dies waiting is never handed out, and its error is no one's to handle: the
  // pool starts another.
  worker.on("error", () => undefined);
  worker.on("exit", () => {
    const at = list.indexOf(worker);
    if (at >= 0) list.splice(at, 1);
  });
  return worker;
}

/**
 * Runs each task on one of `jobs` worker threads, in order, except that a task waits while
 * another with its key runs. A worker that dies takes only its own tasks down: they are
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
      // Interrupted, the run neither starts a task (each would fail, taking no lock) nor ends
      // the usual way, with those failures, before the interrupt ends the process.
      if (stopping) return new Promise<number>(() => undefined);
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

  type Outcome = { ok: true; result: R } | { ok: false; error: Error };
  /**
   * A worker thread, the tasks it holds (each settled once, by its result or its death), and
   * the lock files it holds, which its death must not leave behind.
   */
  type Held = { worker: Worker; tasks: Map<number, (o: Outcome) => void>; files: HeldFiles };
  const lane = async () => {
    let current: Held | null = null;
    const start = (): Held => {
      const w = warm.get(workerFile.href)?.shift() ?? new Worker(workerFile);
      w.ref();
      running.add(w);
      w.postMessage({ type: "init", shared: opts.shared });
      const held: Held = { worker: w, tasks: new Map(), files: new HeldFiles() };
      type Message =
        | { type: "progress" | "result"; index: number; bytes?: number; messages?: number; result?: R }
        | { type: "held-file"; event: "held" | "released"; file: HeldFile }
        | { type: "stopped"; removed: number };
      w.on("message", (msg: Message) => {
        if (msg.type === "stopped") return;
        if (msg.type === "held-file") {
          held.files.note(msg.event, msg.file);
          (msg.event === "held" ? noteHeld : noteReleased)(msg.file);
        } else if (msg.type === "progress") events.progress?.(msg.index, msg.bytes ?? 0, msg.messages ?? 0);
        else {
          held.tasks.get(msg.index)?.({ ok: true, result: msg.result as R });
          held.tasks.delete(msg.index);
        }
      });
      // A dead worker takes down the tasks it holds, and only those (its "error" and "exit"
      // both land here); the lane's next task gets a fresh worker.
      const down = (error: Error) => {
        if (current === held) current = null;
        // A dotlock the dead thread held would stop deliveries to that mailbox (and this run's
        // next task on it) until judged stale: the thread's source is no longer being read.
        held.files.remove(noteReleased);
        for (const settle of held.tasks.values()) settle({ ok: false, error });
        held.tasks.clear();
        running.delete(w);
        void w.terminate();
      };
      w.on("error", down);
      w.on("exit", (code) => down(new Error(`worker exited with code ${code}`)));
      return held;
    };
    const run = async (index: number) => {
      const held = (current ??= start());
      const outcome = await new Promise<Outcome>((resolve) => {
        held.tasks.set(index, resolve);
        held.worker.postMessage({ index, task: tasks[index] });
      });
      finished(index, outcome.ok ? outcome.result : opts.crashed(tasks[index], outcome.error));
    };
    const slot = async () => {
      for (let index = await next(); index >= 0; index = await next()) await run(index);
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.depth ?? 1) }, slot));
    // Its end is not waited for: the results are in, and a process that exits the usual way
    // waits for its threads anyway (one that ends at once does not: src/util/exit-now.ts).
    const last = current as Held | null;
    if (last) {
      running.delete(last.worker);
      void last.worker.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.jobs, tasks.length)) }, lane));
  dropPrestarted(workerFile);
  return results;
}

/** Ends the workers started ahead for `workerFile` that no pool took (a run that needed fewer, or none). */
export function dropPrestarted(workerFile: URL): void {
  for (const unused of warm.get(workerFile.href)?.splice(0) ?? []) void unused.terminate();
}
