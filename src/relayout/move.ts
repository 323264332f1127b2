import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { INDEX_LOCK, withIndexLock } from "../index/run.js";
import { ensureDirUnder } from "../maildir/dirs.js";
import { type Fanout, userMaildir, userNameProblem } from "../maildir/layout.js";
import { type OpenFiles, openFilesNow } from "./open-files.js";
import { compareTrees, copyTree } from "./tree-copy.js";

/**
 * Moving one Maildir to where the layout puts its user. On one filesystem that is a rename:
 * at every moment the Maildir is whole in exactly one place. Across filesystems it is a
 * copy that is verified before it is published and before the source is removed; see
 * docs/relayout.md for what a kill at each step leaves and how the next run finishes it.
 */
export interface MoveTask {
  source: string;
  user: string;
}

export interface MoveOptions {
  root: string;
  fanout: Fanout;
  link: boolean;
  dryRun: boolean;
  /** What processes hold open (default: a scan of /proc at most a second old, see open-files.ts). */
  openFiles?: () => OpenFiles;
}

export type MoveStatus = "moved" | "copied" | "planned" | "in-place" | "conflict" | "busy" | "failed";

export interface MoveResult {
  user: string;
  source: string;
  target: string;
  status: MoveStatus;
  method?: "rename" | "copy";
  linked?: boolean;
  error?: string;
}

/** Written into a finished copy before it is published: the next run knows the source may still be removed. */
export const COPY_MARKER = ".mailstore-relayout-source";
const REMOVING = ".mailstore-removing";

const exists = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false });
const isMaildir = (dir: string) => exists(path.join(dir, "cur"))?.isDirectory() === true;

/** Why a Maildir counts as in use: a dotlock (Dovecot's dovecot-uidlist.lock, any *.lock) in it or a folder of it. */
export function busyReason(home: string): string | null {
  const dirs = [home, ...fs.readdirSync(home).filter((n) => n.startsWith(".") && exists(path.join(home, n))?.isDirectory()).map((n) => path.join(home, n))];
  for (const dir of dirs) {
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith(".lock") && name !== INDEX_LOCK) return `${path.join(dir, name)} is present: the mailbox is in use (or a lock was left behind); skipped, the next run retries it`;
    }
  }
  return null;
}

/** The device a path would be created on: that of its nearest existing ancestor. */
function deviceOf(p: string): number {
  for (let at = p; ; at = path.dirname(at)) {
    const st = exists(at);
    if (st) return st.dev;
    if (path.dirname(at) === at) return -1;
  }
}

function flush(dir: string): void {
  // syncfs(2) through coreutils; a plain sync where -f is unknown.
  if (spawnSync("sync", ["-f", dir]).status !== 0) spawnSync("sync");
}

function readMarker(target: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(target, COPY_MARKER), "utf8")) as { source: string }).source;
  } catch {
    return undefined;
  }
}

/** The last step of a copy: the source goes (renamed aside first, so a kill mid-removal is recognisable), then the marker. */
function removeSource(source: string, target: string, link: boolean): boolean {
  const aside = source + REMOVING;
  fs.renameSync(source, aside);
  fs.rmSync(aside, { recursive: true, force: true });
  fs.rmSync(path.join(target, COPY_MARKER), { force: true });
  return placeLink(source, target, link);
}

function placeLink(source: string, target: string, link: boolean): boolean {
  if (!link || exists(source)) return false;
  fs.symlinkSync(target, source);
  return true;
}

export async function moveMaildir(task: MoveTask, opts: MoveOptions): Promise<MoveResult> {
  const source = path.resolve(task.source);
  const locked = exists(source)?.isDirectory() && !opts.dryRun ? await withIndexLock(source, 0, () => moveUnlocked(task, opts), { create: false }) : moveUnlocked(task, opts);
  return locked ?? { user: task.user, source, target: userMaildir(opts.root, task.user, opts.fanout), status: "busy", error: `${path.join(source, INDEX_LOCK)} is held: a mailstore index is working in it; skipped, the next run retries it` };
}

function moveUnlocked(task: MoveTask, opts: MoveOptions): MoveResult {
  const source = path.resolve(task.source);
  const target = userMaildir(opts.root, task.user, opts.fanout);
  const result: MoveResult = { user: task.user, source, target, status: "failed" };
  const fail = (status: MoveStatus, error: string) => Object.assign(result, { status, error });
  try {
    const problem = userNameProblem(task.user);
    if (problem) return fail("failed", `${source}: ${problem}`);
    if (source === target) return Object.assign(result, { status: "in-place" });
    // A run killed while removing a copied source: the copy was verified and published; finish.
    if (exists(source + REMOVING) && readMarker(target) === source) {
      if (opts.dryRun) return Object.assign(result, { status: "planned", method: "copy" });
      fs.rmSync(source + REMOVING, { recursive: true, force: true });
      fs.rmSync(path.join(target, COPY_MARKER), { force: true });
      return Object.assign(result, { status: "copied", method: "copy", linked: placeLink(source, target, opts.link) });
    }
    const st = exists(source);
    if (!st) {
      if (exists(target) && isMaildir(target)) {
        return Object.assign(result, { status: "in-place", linked: opts.dryRun ? false : placeLink(source, target, opts.link) });
      }
      return fail("failed", `${source}: no such directory`);
    }
    if (st.isSymbolicLink()) {
      if (path.resolve(path.dirname(source), fs.readlinkSync(source)) === target) return Object.assign(result, { status: "in-place" });
      return fail("failed", `${source} is a symlink; relayout never follows one (name the Maildir it points to)`);
    }
    if (!st.isDirectory() || !isMaildir(source)) return fail("failed", `${source} is not a Maildir (no cur/ directory)`);

    const marked = exists(target) ? readMarker(target) : undefined;
    if (exists(target) && marked !== source) {
      return fail("conflict", `${target} already exists${marked ? ` (a copy of ${marked})` : ""}: not merged; move one of them aside`);
    }
    const busy = busyReason(source);
    if (busy) return fail("busy", busy);
    const holder = (opts.openFiles ?? openFilesNow)().holderUnder(source);
    if (holder) return fail("busy", `${holder.path} is open in process ${holder.pid} (${holder.command}): the mailbox is in use; skipped, the next run retries it`);

    const sameFs = deviceOf(path.dirname(target)) === st.dev;
    if (opts.dryRun) return Object.assign(result, { status: "planned", method: marked || !sameFs ? "copy" : "rename" });

    if (marked === source) {
      // An earlier run published the copy and was killed before removing the source.
      const diffs = compareTrees(source, target, { ignoreInB: new Set([COPY_MARKER]) });
      if (diffs.length > 0) return fail("failed", `${source} changed after it was copied to ${target} (${diffs[0]}); the copy is marked with ${COPY_MARKER} and the source is kept: stop delivery to the old place, remove the copy and run again`);
      return Object.assign(result, { status: "copied", method: "copy", linked: removeSource(source, target, opts.link) });
    }

    fs.mkdirSync(opts.root, { recursive: true, mode: 0o711 });
    ensureDirUnder(opts.root, path.dirname(target));
    if (sameFs) {
      try {
        fs.renameSync(source, target);
        return Object.assign(result, { status: "moved", method: "rename", linked: placeLink(source, target, opts.link) });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "EEXIST" || code === "ENOTEMPTY") return fail("conflict", `${target} appeared while moving: not merged`);
        if (code !== "EXDEV") throw err;
      }
    }
    return copyAcross(source, target, opts, result);
  } catch (err) {
    return fail("failed", `${source}: ${(err as Error).message}`);
  }
}

function copyAcross(source: string, target: string, opts: MoveOptions, result: MoveResult): MoveResult {
  // A staging name no reader takes for a user (a dot name at the user level), removed if a killed run left it.
  const staging = path.join(path.dirname(target), `.mailstore-relayout.${path.basename(target)}`);
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    copyTree(source, staging);
    flush(staging);
    const diffs = compareTrees(source, staging);
    if (diffs.length > 0) throw new Error(`the copy differs from the source (${diffs.join("; ")}): did something deliver to it meanwhile? Source kept`);
    fs.writeFileSync(path.join(staging, COPY_MARKER), `${JSON.stringify({ source })}\n`, { mode: 0o600 });
    flush(staging);
    fs.renameSync(staging, target);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY") return Object.assign(result, { status: "conflict", error: `${target} appeared while copying: not merged` });
    throw err;
  }
  // Deliveries to the old place since the comparison would be lost with the source: compare the listing once more.
  if (compareTrees(source, target, { ignoreInB: new Set([COPY_MARKER]), contents: false, limit: 1 }).length > 0) {
    return Object.assign(result, { status: "failed", method: "copy", error: `${source} changed while it was being copied; the copy at ${target} is marked with ${COPY_MARKER} and the source is kept: stop delivery to the old place and run again` });
  }
  return Object.assign(result, { status: "copied", method: "copy", linked: removeSource(source, target, opts.link) });
}
