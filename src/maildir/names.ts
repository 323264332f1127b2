import { randomBytes } from "node:crypto";
import os from "node:os";

/** Host part of a Maildir name, with "/" and ":" escaped as the Maildir spec asks. */
export function maildirHost(host = os.hostname()): string {
  return host.replace(/\//g, "\\057").replace(/:/g, "\\072");
}

/**
 * Unique Maildir base names: <secs>.M<n>P<pid>R<random>.<host>.
 * Within one run the M field counts up, so names sort (numerically) in mbox order, and
 * software that numbers new files in name order keeps the mailbox's order.
 */
export class NameGenerator {
  private readonly seconds: number;
  private readonly token: string;
  private readonly host: string;
  private counter = 0;

  constructor(now = Date.now(), host = maildirHost()) {
    this.seconds = Math.floor(now / 1000);
    this.token = randomBytes(4).toString("hex");
    this.host = host;
  }

  /** In every name this generator makes; its random token keeps it out of any other run's names. */
  get mark(): string {
    return `P${process.pid}R${this.token}.`;
  }

  next(): string {
    const n = this.counter++;
    const secs = this.seconds + Math.floor(n / 1_000_000);
    return `${secs}.M${n % 1_000_000}${this.mark}${this.host}`;
  }
}

/** Final name: base, ",S=<size>", and the info suffix for cur/. */
export function finalName(base: string, size: number, info: string | null): string {
  return `${base},S=${size}${info ?? ""}`;
}

/** Base part of a Maildir file name: everything before ",S=" / ":2,". */
export function baseOf(name: string): string {
  return name.slice(0, baseEnd(name));
}

/** Where baseOf(name) ends: at the first "," before any ":", else at the first ":", else the end. */
export function baseEnd(name: string): number {
  const colon = name.indexOf(":");
  const head = colon >= 0 ? colon : name.length;
  const comma = name.indexOf(",");
  return comma >= 0 && comma < head ? comma : head;
}
