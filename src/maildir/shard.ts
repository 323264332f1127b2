import { userHash } from "./layout.js";

/**
 * One share of a job split over many hosts: shard `index` of `count`. Users are split by the
 * first four hex digits of the MD5 of their name (the layout hash), in contiguous ranges of
 * the 65,536 prefixes: for the default 2,2 layout a shard is exactly a set of leaf buckets,
 * the shards are disjoint, and together they hold every user. The split does not depend on
 * the fan-out, so a relayout keeps every user in its shard.
 */
export interface Shard {
  index: number;
  count: number;
}

export const PREFIXES = 0x10000;

export class ShardSpecError extends Error {}

export function parseShard(spec: string, from = "--shard"): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > PREFIXES || index >= count) {
    throw new ShardSpecError(`${from} takes K/N with 0 <= K < N <= ${PREFIXES} (shard K of N, counted from 0), not "${spec}"`);
  }
  return { index, count };
}

/**
 * The shard from the option, else from the environment: MAILSTORE_SHARD=K/N; a Kubernetes
 * Indexed Job's JOB_COMPLETION_INDEX with MAILSTORE_SHARD_COUNT=N; a Slurm job array's
 * SLURM_ARRAY_TASK_ID (less SLURM_ARRAY_TASK_MIN) of SLURM_ARRAY_TASK_COUNT. Undefined: the
 * whole job.
 */
export function resolveShard(option: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (option !== undefined) return parseShard(option);
  if (env.MAILSTORE_SHARD) return parseShard(env.MAILSTORE_SHARD, "MAILSTORE_SHARD");
  if (env.JOB_COMPLETION_INDEX !== undefined && env.MAILSTORE_SHARD_COUNT) {
    return parseShard(`${env.JOB_COMPLETION_INDEX}/${env.MAILSTORE_SHARD_COUNT}`, "JOB_COMPLETION_INDEX/MAILSTORE_SHARD_COUNT");
  }
  if (env.SLURM_ARRAY_TASK_ID !== undefined && env.SLURM_ARRAY_TASK_COUNT) {
    const index = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
    return parseShard(`${index}/${env.SLURM_ARRAY_TASK_COUNT}`, "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT");
  }
  return undefined;
}

/** The first prefix of shard k: shard k holds prefixes [start(k), start(k + 1)). */
const start = (k: number, count: number) => Math.ceil((k * PREFIXES) / count);

export function shardOfUser(user: string, count: number): number {
  const prefix = parseInt(userHash(user).slice(0, 4), 16);
  // The largest k with start(k) <= prefix.
  let k = Math.floor((prefix * count) / PREFIXES);
  while (k + 1 < count && start(k + 1, count) <= prefix) k++;
  while (k > 0 && start(k, count) > prefix) k--;
  return k;
}

export function inShard(user: string, shard: Shard | undefined): boolean {
  return shard === undefined || shardOfUser(user, shard.count) === shard.index;
}

/**
 * Whether a bucket directory (hex digits of the hash, levels joined: "ab", "abcd") can hold
 * users of the shard: a walk skips those that cannot.
 */
export function bucketInShard(hexPrefix: string, shard: Shard | undefined): boolean {
  if (shard === undefined || hexPrefix.length === 0) return true;
  const digits = Math.min(hexPrefix.length, 4);
  const first = parseInt(hexPrefix.slice(0, digits), 16) * 16 ** (4 - digits);
  const last = first + 16 ** (4 - digits) - 1;
  return first < start(shard.index + 1, shard.count) && last >= start(shard.index, shard.count);
}

export const formatShard = (s: Shard | undefined) => (s ? `${s.index}/${s.count}` : undefined);
