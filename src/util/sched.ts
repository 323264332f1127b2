import { nativeAddon } from "./native.js";

/**
 * Runs this process as batch work: its threads, and those it starts later, under Linux's
 * SCHED_BATCH, so that handing work from one thread to another does not preempt the one
 * handing it over (see native/sched.c for why and what it measured). Threads an admin put
 * under another policy (chrt) keep it. Returns how many threads were moved: 0 without the
 * addon, where nothing changes.
 */
export function runAsBatchJob(): number {
  return nativeAddon()?.batchJob() ?? 0;
}
