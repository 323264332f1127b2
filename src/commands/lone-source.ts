/**
 * Whether a migrate or verify command line names exactly one mailbox, told from the raw
 * arguments before the options are parsed (src/cli.ts decides with it, while the program
 * loads, whether to start a pool worker or load the single mailbox's code on its own thread).
 * Either guess is safe: the run goes by the tasks it resolves; a wrong guess costs a worker
 * started for nothing, or one started later.
 */

/** The options of migrate and verify that take a value (test/commands/lone-source.test.ts holds this to the registered ones). */
export const VALUE_OPTIONS = ["--root", "--user", "--folder", "--from-list", "--format", "--fanout", "--jobs", "--lock-timeout", "--shard", "--sync", "--owner"];

/** The arguments after the command name that are not options or option values. */
export function positionalArgs(args: string[]): string[] {
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") positional.push(arg);
    else if (VALUE_OPTIONS.includes(arg)) i++;
  }
  return positional;
}

/** --user (which allows one mbox), or one source that is not a glob pattern and no --from-list. */
export function namesOneMailbox(args: string[]): boolean {
  const has = (name: string) => args.some((arg) => arg === name || arg.startsWith(`${name}=`));
  if (has("--user")) return true;
  if (has("--from-list")) return false;
  const sources = positionalArgs(args);
  return sources.length === 1 && !/[*?[\]{}()!+@]/.test(sources[0]);
}
