/** Every hot spot's threshold; each is a command-line option (docs/report.md). */
export interface Thresholds {
  dirEntriesWarn: number;
  dirEntriesCrit: number;
  quotaWarnPct: number;
  quotaCritPct: number;
  /** maildirsize and the disk disagree by more than this share of the measured bytes (and 1 MiB). */
  quotaDriftPct: number;
  inodeWarnPct: number;
  inodeCritPct: number;
  diskWarnPct: number;
  diskCritPct: number;
  staleTmpHours: number;
  newBacklogMessages: number;
  newBacklogDays: number;
  mboxWarnBytes: number;
  mboxCritBytes: number;
  /** A linear mbox scan's speed, for the cost shown per mbox: 500 MB in 30 s is the classic figure. */
  mboxScanBytesPerSecond: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  dirEntriesWarn: 10_000,
  dirEntriesCrit: 100_000,
  quotaWarnPct: 90,
  quotaCritPct: 100,
  quotaDriftPct: 10,
  inodeWarnPct: 25,
  inodeCritPct: 50,
  diskWarnPct: 50,
  diskCritPct: 80,
  staleTmpHours: 36,
  newBacklogMessages: 1000,
  newBacklogDays: 30,
  mboxWarnBytes: 100 * 1024 ** 2,
  mboxCritBytes: 1024 ** 3,
  mboxScanBytesPerSecond: (500 * 1024 ** 2) / 30,
};
