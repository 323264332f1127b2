// Shared by the benchmarks: run a command and sample its peak RSS.
import { spawn } from "node:child_process";
import fs from "node:fs";

/** Runs a command, sampling the peak RSS (VmHWM) of it and its children from /proc. */
export async function timed(cmd, args) {
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
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
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}: ${err}`);
  return { seconds, peakMb: peakKb / 1024, out, err };
}

