import fs from "node:fs";

/** Linux scheduling policies, as /proc/<pid>/task/<tid>/stat gives them (field 41). */
export const SCHED = { OTHER: 0, BATCH: 3, IDLE: 5 } as const;

/**
 * The scheduling policy of each thread of a process, by thread id; threads that end while
 * being read are left out, and an ended process gives an empty map.
 */
export function threadPolicies(pid: number | "self"): Map<number, number> {
  const policies = new Map<number, number>();
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return policies;
  }
  for (const tid of tids) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, "latin1");
      // Fields after the command name, which is in parentheses and may hold spaces: the
      // first of them is field 3 (state), so field 41 (policy) is the 39th.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      policies.set(Number(tid), Number(fields[38]));
    } catch {
      // the thread ended
    }
  }
  return policies;
}
