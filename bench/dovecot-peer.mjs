// A private Dovecot for the index bench: `doveadm index` on the same Maildir as `mailstore
// index`, so the figures have a peer measured on the same machine in the same run. Dovecot's
// master runs in the foreground under a scratch directory (its sockets, state, log and
// indexes), with a static userdb that finds a user's Maildir in the hashed tree by the
// mail_location docs/migrate.md gives. Dovecot refuses uid 0 for mail, so the Maildir is
// given to nobody (65534) first; the bench runs as root for that.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const NOBODY = 65534;

export function dovecotUsable() {
  const have = (cmd) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
  return process.getuid?.() === 0 && have("dovecot") && have("doveadm");
}

/**
 * Starts the peer for the hashed tree under `root` (fan-out 2/2). Returns its config file (for
 * `doveadm -c`), where it keeps a user's Dovecot index, adopt(maildir) and stop().
 */
export async function startDovecot(scratch, root) {
  fs.rmSync(scratch, { recursive: true, force: true });
  for (const dir of ["run", "state", "index"]) fs.mkdirSync(path.join(scratch, dir), { recursive: true });
  fs.chownSync(path.join(scratch, "index"), NOBODY, NOBODY);
  const conf = path.join(scratch, "dovecot.conf");
  fs.writeFileSync(
    conf,
    `protocols =
ssl = no
base_dir = ${scratch}/run
state_dir = ${scratch}/state
log_path = ${scratch}/dovecot.log
default_internal_user = root
default_login_user = root
first_valid_uid = ${NOBODY}
mail_location = maildir:${root}/%2Mu/%2.2Mu/%u:INDEX=${scratch}/index/%u
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=${NOBODY} gid=${NOBODY} home=${scratch}/state allow_all_users=yes
}
`,
  );
  const master = spawn("dovecot", ["-F", "-c", conf], { stdio: "ignore" });
  const socket = path.join(scratch, "run", "auth-userdb");
  for (let waited = 0; !fs.existsSync(socket); waited += 50) {
    if (waited > 10_000 || master.exitCode !== null) {
      master.kill();
      throw new Error(`dovecot did not start (see ${scratch}/dovecot.log)`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    conf,
    indexDir: (user) => path.join(scratch, "index", user),
    /** Gives a user's Maildir to the uid Dovecot serves it as. */
    adopt: (maildir) => spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, maildir]),
    stop: () => {
      master.kill();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}
