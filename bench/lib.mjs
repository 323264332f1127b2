// Shared by the benchmarks: run a command and sample its peak RSS.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** The repository, the scratch directory (BENCH_DIR, default bench-work/) and the built CLI. */
export const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
export const work = path.resolve(process.env.BENCH_DIR ?? path.join(repo, "bench-work"));
export const cli = path.join(repo, "dist", "cli.js");

/**
 * The environment commands run in. NODE_EXTRA_CA_CERTS is left out: set (as on some build
 * machines) it makes every Node process parse a certificate bundle at startup (~0.15 s here),
 * and mailstore opens no TLS connection. benchEnvNote says when it was dropped.
 */
export const benchEnv = { ...process.env };
delete benchEnv.NODE_EXTRA_CA_CERTS;
export const benchEnvNote = process.env.NODE_EXTRA_CA_CERTS ? "(NODE_EXTRA_CA_CERTS unset for the runs: it adds its certificate parsing to every process start)" : "";

/** Runs a command (an exit status outside okCodes throws), sampling the peak RSS (VmHWM) of it and its children from /proc. */
export async function timed(cmd, args, { okCodes = [0] } = {}) {
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: benchEnv });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  let peakKb = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {}
  };
  const timer = setInterval(sample, 20);
  const code = await new Promise((r) => child.on("exit", (c) => r(c)));
  clearInterval(timer);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (!okCodes.includes(code)) throw new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`);
  return { seconds, peakMb: peakKb / 1024, out, err };
}

/** The median of some timings (the lower middle of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
