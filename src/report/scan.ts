import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { DirRecord, UserScan } from "./records.js";
import type { ScanUserOptions } from "./scan-user.js";
import type { UserLocation } from "../maildir/tree-walk.js";

export interface ScanResult {
  location: UserLocation;
  scan?: UserScan;
  error?: string;
}

/**
 * Scans every home on `jobs` child processes, handing out one home at a time so a huge
 * mailbox does not hold up the rest. A child that dies fails only the home it was scanning.
 */
export async function scanHomes(
  root: string,
  users: UserLocation[],
  cached: (rel: string) => DirRecord[] | undefined,
  opts: Omit<ScanUserOptions, "chdir">,
  jobs: number,
  onResult?: (result: ScanResult) => void,
): Promise<ScanResult[]> {
  const results: ScanResult[] = new Array(users.length);
  let next = 0;
  const childFile = new URL("./scan-child.js", import.meta.url);
  const lane = () =>
    new Promise<void>((resolve) => {
      let child: ChildProcess | undefined;
      let current = -1;
      const finish = (index: number, result: ScanResult) => {
        results[index] = result;
        onResult?.(result);
      };
      const dispatch = () => {
        if (next >= users.length) {
          child?.disconnect();
          return resolve();
        }
        current = next++;
        const loc = users[current];
        if (!child) start();
        child?.send({ index: current, home: path.join(root, loc.rel), user: loc.user, rel: loc.rel, cached: cached(loc.rel), opts });
      };
      const start = () => {
        const proc = fork(childFile, { serialization: "advanced", stdio: ["ignore", "inherit", "inherit", "ipc"] });
        child = proc;
        proc.on("message", (msg: { index: number; scan?: UserScan; error?: string }) => {
          finish(msg.index, { location: users[msg.index], scan: msg.scan, error: msg.error });
          current = -1;
          dispatch();
        });
        proc.on("exit", (code, signal) => {
          if (child !== proc) return;
          child = undefined;
          if (current >= 0) {
            const index = current;
            current = -1;
            finish(index, { location: users[index], error: `scanner process died (${signal ?? `exit ${code}`})` });
            dispatch();
          }
        });
      };
      dispatch();
    });
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, users.length)) }, lane));
  return results;
}
