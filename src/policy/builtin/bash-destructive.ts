// Destructive variants of programs whose harmless forms people allow with a wildcard: `Bash(git
// branch -v*)`, `Bash(find:*)`, `Bash(kubectl *)`, or an allowCommands prefix such as `git branch`.
// Such a rule was written for listing, reading or building; the same program with these flags or
// subcommands deletes, overwrites or rewrites what cannot be got back (branches, pushed history,
// uncommitted work, published packages, cluster objects, disks). A command with one of them never
// rides on an allow rule with `*`, a `:*`/` *` tail or an allowCommands prefix: only an allow rule
// without `*` that matches the whole command allows it; otherwise it asks. Deny and ask rules are
// unaffected.
//
// `rm -r` is not here: rm only deletes, so a wildcard allow for rm was written for deleting, and what
// it deletes is judged as a write by the Edit rules and the working-directory default (bash-files.ts).
//
// Same shape as the code-through-arguments table (bash-exec-args.ts), whose entries already cover
// `find -delete`, `find -exec rm`, `sed -i`, and `git filter-branch`; bash.ts treats a hit of either
// table alike. One entry per program and variant, each with why, an example that triggers it, the
// harmless form (`nearMiss`) and a wildcard allow written for that form (`allowedBy`):
// test/unit/bash-destructive.test.ts runs them all.
//
// Programs with options that take a value before the subcommand (`kubectl -n prod delete`) are
// matched by their verb anywhere among the operands, not at one position: a stray match asks, a
// missed one would allow.
import type { SimpleCommand } from "../shell/analyze.js";
import { argViewOf, type ArgView, byProgram, type ExecArgEntry, findEntries, type Hit, subcommandIndex } from "./bash-exec-args.js";
import { parseTar } from "./bash-tar.js";

export interface DestructiveEntry extends ExecArgEntry {
  /** The harmless form the wildcard allow was written for: allowed by `allowedBy`. */
  nearMiss: string;
  /** A wildcard allow (Bash specifier) written for the harmless form, which must not allow the example. */
  allowedBy: string;
}

/** Words of argv[from..] that are not options (do not start with `-`). */
function operands(v: ArgView, from = 1): Array<{ w: string; k: number }> {
  const out: Array<{ w: string; k: number }> = [];
  for (let k = from; k < v.argv.length; k++) {
    const w = v.argv[k] as string;
    if (w === "--") continue;
    if (!w.startsWith("-")) out.push({ w, k });
  }
  return out;
}

/**
 * A verb (or a run of verbs, `state rm`) anywhere among the operands; letters compared without case
 * when `fold`. A dynamic word before the first operand could be the verb.
 */
function verbs(list: readonly string[], opts: { fold?: boolean } = {}): (v: ArgView) => Hit[] {
  const norm = (w: string): string => (opts.fold ? w.toLowerCase() : w);
  const wanted = list.map((l) => l.split(" ").map(norm));
  return (v) => {
    const hits: Hit[] = [];
    const ops = operands(v);
    const firstOperand = ops[0]?.k ?? v.argv.length;
    for (const k of v.dynamic) if (k <= firstOperand) hits.push({ detail: `${v.argv[k]} (could be ${list.join(" or ")} at run time)` });
    const words = ops.map((o) => norm(o.w));
    for (const want of wanted)
      for (let i = 0; i + want.length <= words.length; i++)
        if (want.every((w, j) => words[i + j] === w)) {
          hits.push({ detail: want.join(" ") });
          break;
        }
    return hits;
  };
}

/** Operands of a git subcommand starting with one of the prefixes (`git push origin +main`, `:old`). */
function gitOperandPrefix(prefixes: readonly string[]): (v: ArgView) => Hit[] {
  return (v) => {
    const sub = subcommandIndex(v);
    if (sub < 0) return [];
    return operands(v, sub + 1)
      .filter((o) => prefixes.some((p) => o.w.startsWith(p)))
      .map((o) => ({ detail: `${o.w} (${o.w.startsWith("+") ? "a forced" : "a deleting"} refspec)` }));
  };
}

/** The word after the git subcommand (`stash drop`, `reflog expire`, `worktree remove`). */
function gitAction(actions: readonly string[]): (v: ArgView) => Hit[] {
  return (v) => {
    const sub = subcommandIndex(v);
    if (sub < 0) return [];
    const next = operands(v, sub + 1)[0];
    if (next === undefined) return [];
    if (v.dynamic.has(next.k)) return [{ detail: `${next.w} (could be ${actions.join(" or ")} at run time)` }];
    return actions.includes(next.w) ? [{ detail: `${v.argv[sub]} ${next.w}` }] : [];
  };
}

/**
 * `git checkout` that overwrites files of the worktree: `--` (paths follow), `.`, `-f`/`--force`,
 * `--ours`/`--theirs`, `-B` (resets a branch), `-p`, or a commit followed by paths (two operands).
 */
function gitCheckoutOverwrites(v: ArgView): Hit[] {
  const sub = subcommandIndex(v);
  if (sub < 0) return [];
  const hits: Hit[] = [];
  const rest = v.argv.slice(sub + 1);
  for (const w of rest) {
    if (w === "--" || w === "." || /^--(force|ours|theirs|patch|overwrite-ignore|merge)$/.test(w) || /^-[a-zA-Z]*[fBpm]/.test(w)) hits.push({ detail: w });
  }
  // `-b NAME` / `-B NAME` take a value: the first operand after them is that name, not a commit.
  const named = rest.some((w) => /^-[a-zA-Z]*[bB]$/.test(w) || w === "--orphan");
  const ops = operands(v, sub + 1).filter((o) => !/^-[a-zA-Z]*[bB]$/.test(v.argv[o.k - 1] ?? "") && v.argv[o.k - 1] !== "--orphan");
  if (!named && ops.length >= 2) hits.push({ detail: `${ops.map((o) => o.w).join(" ")} (a commit and paths: overwrites those files)` });
  return hits;
}

/** `git restore` overwrites the worktree unless it only unstages (`--staged` without `--worktree`). */
function gitRestoreWorktree(v: ArgView): Hit[] {
  const sub = subcommandIndex(v);
  if (sub < 0) return [];
  const rest = v.argv.slice(sub + 1);
  const staged = rest.some((w) => w === "--staged" || /^-[a-zA-Z]*S/.test(w));
  const worktree = rest.some((w) => w === "--worktree" || /^-[a-zA-Z]*W/.test(w));
  if (staged && !worktree) return [];
  return [{ detail: `restore ${rest.join(" ")} (overwrites files of the worktree)` }];
}

/** tar options that delete files on disk or members of an archive. */
function tarRemoves(v: ArgView): Hit[] {
  const names = ["--remove-files", "--unlink-first", "--recursive-unlink", "--delete", "-U"];
  const hits: Hit[] = [];
  for (const o of parseTar(v.argv).options) {
    const n = o.name;
    if (names.includes(n) || (n.startsWith("--") && n.length >= 6 && names.some((x) => x.startsWith("--") && x.startsWith(n)))) hits.push({ detail: n });
  }
  for (const k of v.dynamic) hits.push({ detail: `${v.argv[k]} (could be --remove-files at run time)` });
  return hits;
}

/** Long options by prefix (`rsync --del`, `--delete-after`, `--remove-source-files`). */
function longPrefixes(prefixes: readonly string[]): (v: ArgView) => Hit[] {
  return (v) => {
    const hits: Hit[] = [];
    v.argv.forEach((w, k) => {
      if (k === 0) return;
      if (v.dynamic.has(k)) hits.push({ detail: `${w} (could be ${prefixes[0]}... at run time)` });
      else if (prefixes.some((p) => w.startsWith(p))) hits.push({ detail: w });
    });
    return hits;
  };
}

/** `gh api -X DELETE`, `--method=DELETE`. */
function ghApiDelete(v: ArgView): Hit[] {
  if (operands(v)[0]?.w !== "api") return [];
  const hits: Hit[] = [];
  v.argv.forEach((w, k) => {
    const val = w === "-X" || w === "--method" ? v.argv[k + 1] : /^(-X|--method=)(.+)$/.exec(w)?.[2];
    if (val !== undefined && /^delete$/i.test(val)) hits.push({ detail: `${w} ${val}`.trim() });
  });
  return hits;
}

/** `docker compose down -v`: removes the named volumes, the data of the services. */
function composeDownVolumes(v: ArgView): Hit[] {
  const ops = operands(v).map((o) => o.w);
  if (!(ops.includes("down") || ops.includes("rm"))) return [];
  return v.argv.filter((w) => w === "--volumes" || w === "--rmi" || w.startsWith("--rmi=") || /^-[a-zA-Z]*v/.test(w)).map((w) => ({ detail: `down ${w}` }));
}

const DOCKER = ["docker", "podman", "nerdctl"];
const KUBE = ["kubectl", "oc"];
const MKFS = ["mkfs", "mkfs.ext2", "mkfs.ext3", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkfs.vfat", "mkfs.fat", "mkfs.exfat", "mkfs.ntfs", "mkswap", "wipefs", "blkdiscard"];

export const DESTRUCTIVE_ENTRIES: readonly DestructiveEntry[] = [
  // git: history, branches and uncommitted work
  { id: "git branch -d", programs: ["git"], subcommands: ["branch"], detect: { option: ["-d", "-D", "--delete", "-f", "--force", "-M", "-C"], at: "sub" }, reason: "git branch -d/-D/--delete deletes branches (with -D unmerged work), and -f/-M/-C overwrite an existing branch", example: "git branch -v -D feature", nearMiss: "git branch -v", allowedBy: "git branch -v*" },
  { id: "git push --force", programs: ["git"], subcommands: ["push"], detect: { option: ["-f", "--force", "--force-with-lease", "--force-if-includes", "-d", "--delete", "--mirror", "--prune"], at: "sub" }, reason: "git push --force/--mirror/--prune overwrites or deletes history and branches on the remote, and --delete/-d deletes remote branches", example: "git push --force origin main", nearMiss: "git push origin main", allowedBy: "git push:*" },
  { id: "git push +refspec", programs: ["git"], subcommands: ["push"], detect: { custom: gitOperandPrefix(["+", ":"]) }, reason: "a refspec starting with + forces the update, and one starting with : deletes the remote branch", example: "git push origin +main", nearMiss: "git push origin main", allowedBy: "git push:*" },
  { id: "git reset --hard", programs: ["git"], subcommands: ["reset"], detect: { option: ["--hard", "--merge"], at: "sub" }, reason: "git reset --hard/--merge discards uncommitted changes of the worktree", example: "git reset --hard HEAD~3", nearMiss: "git reset HEAD src/a.ts", allowedBy: "git reset *" },
  { id: "git clean -f", programs: ["git"], subcommands: ["clean"], detect: { option: ["-f", "--force"], at: "sub" }, reason: "git clean -f deletes untracked files, which git cannot bring back", example: "git clean -fdx", nearMiss: "git clean -n", allowedBy: "git clean:*" },
  { id: "git checkout -- paths", programs: ["git"], subcommands: ["checkout"], detect: { custom: gitCheckoutOverwrites }, reason: "git checkout with paths (`--`, `.`, a commit and paths), -f, --ours/--theirs or -B overwrites uncommitted changes or resets a branch", example: "git checkout -- .", nearMiss: "git checkout -b feature", allowedBy: "git checkout:*" },
  { id: "git restore", programs: ["git"], subcommands: ["restore"], detect: { custom: gitRestoreWorktree }, reason: "git restore overwrites files of the worktree with another version (only `--staged` alone just unstages)", example: "git restore src/a.ts", nearMiss: "git restore --staged src/a.ts", allowedBy: "git restore:*" },
  { id: "git switch --discard-changes", programs: ["git"], subcommands: ["switch"], detect: { option: ["--discard-changes", "-f", "--force", "-C", "--force-create"], at: "sub" }, reason: "git switch --discard-changes/-f drops uncommitted changes, and -C resets an existing branch", example: "git switch -f main", nearMiss: "git switch main", allowedBy: "git switch:*" },
  { id: "git stash drop", programs: ["git"], subcommands: ["stash"], detect: { custom: gitAction(["drop", "clear"]) }, reason: "git stash drop/clear deletes stashed work", example: "git stash clear", nearMiss: "git stash list", allowedBy: "git stash:*" },
  { id: "git tag -d", programs: ["git"], subcommands: ["tag"], detect: { option: ["-d", "--delete", "-f", "--force"], at: "sub" }, reason: "git tag -d deletes tags and -f moves an existing tag", example: "git tag -d v1.0.0", nearMiss: "git tag -l", allowedBy: "git tag:*" },
  { id: "git rm -f", programs: ["git"], subcommands: ["rm"], detect: { option: ["-f", "--force"], at: "sub" }, reason: "git rm -f deletes files even with uncommitted changes", example: "git rm -rf src", nearMiss: "git rm --cached notes.txt", allowedBy: "git rm:*" },
  { id: "git reflog expire", programs: ["git"], subcommands: ["reflog"], detect: { custom: gitAction(["expire", "delete"]) }, reason: "git reflog expire/delete drops the record that lets lost commits be found again", example: "git reflog expire --expire=now --all", nearMiss: "git reflog show", allowedBy: "git reflog:*" },
  { id: "git gc --prune", programs: ["git"], subcommands: ["gc"], detect: { option: ["--prune"], at: "sub" }, reason: "git gc --prune deletes unreachable objects, the last copy of dropped commits", example: "git gc --prune=now", nearMiss: "git gc --auto", allowedBy: "git gc:*" },
  { id: "git prune", programs: ["git"], subcommands: ["prune"], detect: { always: true }, reason: "git prune deletes unreachable objects, the last copy of dropped commits", example: "git prune", nearMiss: "git count-objects -v", allowedBy: "git *" },
  { id: "git worktree remove", programs: ["git"], subcommands: ["worktree"], detect: { custom: gitAction(["remove"]) }, reason: "git worktree remove deletes a worktree's directory (with --force, uncommitted changes too)", example: "git worktree remove --force ../wt", nearMiss: "git worktree list", allowedBy: "git worktree:*" },
  { id: "git update-ref -d", programs: ["git"], subcommands: ["update-ref", "symbolic-ref"], detect: { option: ["-d", "--delete"], at: "sub" }, reason: "git update-ref -d deletes a ref (a branch or tag) without any check", example: "git update-ref -d refs/heads/main", nearMiss: "git symbolic-ref HEAD", allowedBy: "git *" },

  // files and disks
  { id: "rsync --delete", programs: ["rsync"], detect: { custom: longPrefixes(["--del", "--remove-source-files", "--remove-sent-files"]) }, reason: "rsync --delete* deletes files at the destination that the source lacks (all of them from an empty source), and --remove-source-files deletes the source", example: "rsync -a --delete empty/ project/", nearMiss: "rsync -a src/ backup/", allowedBy: "rsync -a *" },
  { id: "tar --remove-files", programs: ["tar"], detect: { custom: tarRemoves }, reason: "tar --remove-files deletes the files it archives, -U/--unlink-first/--recursive-unlink delete files before extracting, and --delete removes members from an archive", example: "tar czf src.tgz --remove-files src", nearMiss: "tar czf src.tgz src", allowedBy: "tar czf *" },
  { id: "zip -m", programs: ["zip"], detect: { option: ["-m", "--move"] }, reason: "zip -m deletes the files once they are in the archive", example: "zip -r -m src.zip src", nearMiss: "zip -r src.zip src", allowedBy: "zip -r *" },
  { id: "chmod -R", programs: ["chmod", "chown", "chgrp"], detect: { option: ["-R", "--recursive"] }, reason: "chmod/chown/chgrp -R change every file of a tree, which cannot be undone file by file", example: "chmod -R 777 .", nearMiss: "chmod +x build.sh", allowedBy: "chmod *" },
  { id: "dd of=", programs: ["dd"], detect: { prefix: "of=" }, reason: "dd of= overwrites a file or a whole device", example: "dd if=/dev/zero of=/dev/sda bs=1M", nearMiss: "dd if=disk.img bs=512 count=1", allowedBy: "dd if=*" },
  { id: "truncate", programs: ["truncate"], detect: { always: true }, reason: "truncate cuts files to a size, dropping their content", example: "truncate -s 0 app.db", nearMiss: "ls -la", allowedBy: "*" },
  { id: "shred", programs: ["shred"], detect: { always: true }, reason: "shred overwrites files so that they cannot be recovered", example: "shred -u notes.txt", nearMiss: "ls -la", allowedBy: "*" },
  { id: "mkfs", programs: MKFS, detect: { always: true }, reason: "mkfs/mkswap/wipefs/blkdiscard erase a filesystem or a whole device", example: "mkfs.ext4 /dev/sdb1", nearMiss: "ls -la", allowedBy: "*" },
  { id: "crontab -r", programs: ["crontab"], detect: { option: ["-r"] }, reason: "crontab -r deletes every cron job of the user without asking", example: "crontab -r", nearMiss: "crontab -l", allowedBy: "crontab *" },

  // packages, containers, clusters, clouds
  { id: "npm unpublish", programs: ["npm", "pnpm", "cargo", "gem"], detect: { custom: verbs(["unpublish", "yank"]) }, reason: "npm unpublish and cargo/gem yank withdraw published versions that others depend on", example: "npm unpublish my-pkg@1.0.0", nearMiss: "npm publish --dry-run", allowedBy: "npm *" },
  { id: "docker rm", programs: DOCKER, detect: { custom: verbs(["rm", "rmi", "prune"]) }, reason: "docker rm/rmi and the prune commands (system, image, volume, container, network, builder) delete containers, images and volumes with their data", example: "docker system prune -af --volumes", nearMiss: "docker ps -a", allowedBy: "docker *" },
  { id: "docker compose down -v", programs: [...DOCKER, "docker-compose", "podman-compose"], detect: { custom: composeDownVolumes }, reason: "compose down -v/--volumes deletes the services' volumes, and --rmi their images", example: "docker-compose down -v", nearMiss: "docker-compose ps", allowedBy: "docker-compose *" },
  { id: "kubectl delete", programs: KUBE, detect: { custom: verbs(["delete", "drain"]) }, reason: "kubectl delete removes cluster objects (with their volumes' claims), and drain evicts every pod of a node", example: "kubectl -n prod delete deployment web", nearMiss: "kubectl get pods -n prod", allowedBy: "kubectl *" },
  { id: "kubectl replace --force", programs: KUBE, detect: { option: ["--force", "--prune"] }, reason: "--force deletes and recreates objects, and --prune deletes objects missing from the files", example: "kubectl apply --prune -l app=web -f k8s/", nearMiss: "kubectl apply --dry-run=client -f k8s/", allowedBy: "kubectl apply *" },
  { id: "helm uninstall", programs: ["helm"], detect: { custom: verbs(["uninstall", "delete", "del", "un"]) }, reason: "helm uninstall removes a release and every object it created", example: "helm uninstall web -n prod", nearMiss: "helm list -n prod", allowedBy: "helm *" },
  { id: "terraform destroy", programs: ["terraform", "tofu"], detect: { custom: verbs(["destroy", "state rm", "workspace delete", "force-unlock"]) }, reason: "terraform destroy deletes the managed infrastructure; state rm and workspace delete lose track of it", example: "terraform destroy -auto-approve", nearMiss: "terraform plan", allowedBy: "terraform *" },
  { id: "terraform -destroy", programs: ["terraform", "tofu"], detect: { option: ["-destroy"] }, reason: "apply -destroy deletes the managed infrastructure", example: "terraform apply -destroy -auto-approve", nearMiss: "terraform apply -refresh-only", allowedBy: "terraform apply *" },
  { id: "gh delete", programs: ["gh"], detect: { custom: verbs(["delete", "delete-asset"]) }, reason: "gh repo/release/issue/label/secret/gist/run/cache delete removes them on GitHub", example: "gh repo delete owner/app --yes", nearMiss: "gh repo view owner/app", allowedBy: "gh repo *" },
  { id: "gh api -X DELETE", programs: ["gh"], detect: { custom: ghApiDelete }, reason: "gh api -X DELETE deletes whatever the API path names", example: "gh api -X DELETE repos/owner/app", nearMiss: "gh api repos/owner/app", allowedBy: "gh api *" },
  { id: "aws delete", programs: ["aws"], detect: { custom: (v) => [...verbs(["s3 rm", "s3 rb"])(v), ...operands(v).filter((o) => /^(delete|terminate|deregister)-/.test(o.w)).map((o) => ({ detail: o.w })), ...v.argv.filter((w) => w === "--delete").map((w) => ({ detail: w }))] }, reason: "aws delete-*/terminate-* calls and s3 rm/rb/sync --delete delete cloud resources and objects", example: "aws s3 rm s3://bucket/ --recursive", nearMiss: "aws s3 ls s3://bucket/", allowedBy: "aws s3 *" },
  { id: "gcloud delete", programs: ["gcloud", "az"], detect: { custom: verbs(["delete"]) }, reason: "gcloud/az ... delete removes cloud resources", example: "gcloud compute instances delete vm-1", nearMiss: "gcloud compute instances list", allowedBy: "gcloud *" },
  { id: "redis-cli flushall", programs: ["redis-cli"], detect: { custom: verbs(["flushall", "flushdb"], { fold: true }) }, reason: "FLUSHALL/FLUSHDB delete every key", example: "redis-cli FLUSHALL", nearMiss: "redis-cli INFO", allowedBy: "redis-cli *" },
  { id: "dropdb", programs: ["dropdb", "dropuser"], detect: { always: true }, reason: "dropdb deletes a whole PostgreSQL database", example: "dropdb app_dev", nearMiss: "ls -la", allowedBy: "*" },
];

const BY_PROGRAM = byProgram(DESTRUCTIVE_ENTRIES);

/** Every destructive variant a command uses (its program family's entries only). */
export function findDestructive(c: SimpleCommand): Array<{ entry: DestructiveEntry; hit: Hit }> {
  if (c.unresolved || c.argv.length === 0) return [];
  const v = argViewOf(c);
  return findEntries(BY_PROGRAM.get(v.family), v);
}
