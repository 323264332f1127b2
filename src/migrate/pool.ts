import { Worker } from "node:worker_threads";

export interface PoolEvents<R> {
  progress?: (index: number, bytes: number, messages: number) => void;
  result: (index: number, result: R) => void;
}

/**
 * Runs each task on one of `jobs` worker threads. A worker that dies takes only its own task
 * down: that task is reported through `crashed` and a fresh worker carries on.
 */
export async function runPool<T, R>(workerFile: URL, tasks: T[], jobs: number, shared: unknown, events: PoolEvents<R>, crashed: (task: T, error: Error) => R): Promise<R[]> {
  const results: R[] = new Array(tasks.length);
  let nextTask = 0;
  const lanes = Math.max(1, Math.min(jobs, tasks.length));
  const lane = () =>
    new Promise<void>((resolve) => {
      const spawn = () => {
        if (nextTask >= tasks.length) return resolve();
        const worker = new Worker(workerFile, { workerData: shared });
        let current = -1;
        let finished = false;
        const take = () => {
          if (nextTask >= tasks.length) {
            finished = true;
            void worker.terminate();
            return resolve();
          }
          current = nextTask++;
          worker.postMessage({ index: current, task: tasks[current] });
        };
        worker.on("message", (msg: { type: "progress" | "result"; index: number; bytes?: number; messages?: number; result?: R }) => {
          if (msg.type === "progress") events.progress?.(msg.index, msg.bytes ?? 0, msg.messages ?? 0);
          else {
            results[msg.index] = msg.result as R;
            events.result(msg.index, msg.result as R);
            take();
          }
        });
        const fail = (error: Error) => {
          if (finished) return;
          finished = true;
          if (current >= 0 && results[current] === undefined) {
            results[current] = crashed(tasks[current], error);
            events.result(current, results[current]);
          }
          spawn();
        };
        worker.on("error", fail);
        worker.on("exit", (code) => fail(new Error(`worker exited with code ${code}`)));
        take();
      };
      spawn();
    });
  await Promise.all(Array.from({ length: lanes }, lane));
  return results;
}
