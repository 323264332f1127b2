import cliProgress from "cli-progress";

/** Progress for long runs: a bar on a terminal; nothing otherwise (cron, pipes, --json). */
export interface Progress {
  add(bytes: number, messages: number): void;
  /** Prints a line without tearing the bar. */
  log(line: string): void;
  stop(): void;
}

export function makeProgress(totalBytes: number, enabled: boolean): Progress {
  if (!enabled) {
    return { add: () => undefined, log: (line) => process.stdout.write(`${line}\n`), stop: () => undefined };
  }
  const started = Date.now();
  let messages = 0;
  let bytes = 0;
  const bar = new cliProgress.SingleBar(
    {
      format: "{bar} {percentage}% | {done}/{size} | {messages} msgs | {rate} msg/s | ETA {eta_formatted}",
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(Math.max(totalBytes, 1), 0, { done: formatBytes(0), size: formatBytes(totalBytes), messages: 0, rate: 0 });
  return {
    add(b, m) {
      bytes += b;
      messages += m;
      const secs = Math.max((Date.now() - started) / 1000, 0.001);
      bar.update(bytes, { done: formatBytes(bytes), messages, rate: Math.round(messages / secs) });
    },
    log(line) {
      // The bar lives on stderr; clear its line so the summary line stands alone.
      process.stderr.write("\r\x1b[K");
      process.stdout.write(`${line}\n`);
    },
    stop() {
      bar.stop();
    },
  };
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
