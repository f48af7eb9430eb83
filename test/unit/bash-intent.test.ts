// Class 6b of issue 14: a deny (or ask) rule is a statement of intent. `rm -rf /` forbids the
// recursive deletion of / by any program; `> /dev/sda` forbids overwriting a disk by any program
// (src/policy/builtin/bash-intent.ts). Judged through the real built-in policy with a real file
// system environment (a scratch home and project), so paths, `~` and symlinks resolve as in use.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { compileBashRules } from "../../src/policy/builtin/bash.js";
import { compilePattern } from "../../src/policy/builtin/bash-pattern.js";
import { compileBuiltinPolicy } from "../../src/policy/builtin/index.js";
import type { BuiltinRule } from "../../src/policy/builtin/types.js";
import { fsEnvironment } from "../../src/policy/paths/index.js";
import { PolicyError } from "../../src/policy/rules.js";

let root: string;
let home: string;
let project: string;

before(() => {
  root = mkdtempSync(join(tmpdir(), "warden-intent-"));
  home = join(root, "home");
  project = join(home, "project");
  mkdirSync(join(project, "build"), { recursive: true });
  mkdirSync(join(project, "empty"), { recursive: true });
  writeFileSync(join(project, "a.o"), "");
});
after(() => rmSync(root, { recursive: true, force: true }));

function rule(effect: BuiltinRule["effect"], text: string, k: number): BuiltinRule {
  const m = /^Bash\((.*)\)$/s.exec(text);
  return { effect, tool: "Bash", specifier: m ? (m[1] as string) : text, text, source: { layer: "project", file: "/p/settings.json", path: `${effect}[${k}]` } };
}

/** Every program used below is allowed with a wildcard: only a deny (or ask) can stop a line. */
const ALLOW = ["find", "rsync", "rm", "mv", "xargs", "cd", "dd", "cat", "tee", "cp", "echo", "mkfs.ext4", "wipefs", "sgdisk", "fdisk", "shred", "unlink"].map((p) => `Bash(${p}:*)`);

function decide(command: string, o: { deny?: string[]; ask?: string[]; allow?: string[] }) {
  const rules = [...(o.deny ?? []).map((t, k) => rule("deny", t, k)), ...(o.ask ?? []).map((t, k) => rule("ask", t, k)), ...(o.allow ?? ALLOW).map((t, k) => rule("allow", t, k))];
  const p = compileBuiltinPolicy(rules, fsEnvironment({ home, platform: "linux" }), { mode: "default", bypassDisabled: false, additionalDirectories: [] });
  return p.decide("Bash", { command }, project, project);
}

const SEED_DENY = ["rm -rf /", "rm -rf ~", "> /dev/sda"];

function denied(rows: Array<[string, string]>, deny = SEED_DENY): void {
  for (const [command, by] of rows)
    it(`denies ${JSON.stringify(command)} by ${by}`, () => {
      const v = decide(command, { deny });
      assert.equal(v.decision, "deny", v.reason);
      assert.equal(v.rule, by, v.reason);
    });
}

/** Near-misses: not denied. Some still ask for reasons of their own (a write outside the project, find -delete on a wildcard allow). */
function allowed(rows: string[], deny = SEED_DENY): void {
  for (const command of rows)
    it(`does not deny the near-miss ${JSON.stringify(command)}`, () => {
      const v = decide(command, { deny });
      assert.notEqual(v.decision, "deny", v.reason);
      assert.equal(v.rule === undefined || !deny.includes(v.rule), true, v.reason);
    });
}

describe("6b: recursive deletion of / or ~ by another program or spelling", () => {
  denied([
    ["find / -delete", "rm -rf /"],
    ["find / -depth -delete", "rm -rf /"],
    ["find -L / -mindepth 1 -delete", "rm -rf /"],
    ["find ~ -delete", "rm -rf ~"],
    ["find ~ -type f -delete", "rm -rf ~"],
    // `rm -rf {}` already matches `rm -rf /` word by word: `{}` could be any path.
    ["find ~ -exec rm -rf {} +", "rm -rf /"],
    ["find ~ -exec unlink {} ;", "rm -rf ~"],
    ["find ~ -execdir shred -u {} +", "rm -rf ~"],
    ["find ~/ -name x -o -delete", "rm -rf ~"],
    ["find / -print0 | xargs -0 shred -u", "rm -rf /"],
    ["find $HOME -print | xargs unlink", "rm -rf ~"],
    ["rsync -a --delete empty/ /", "rm -rf /"],
    ["rsync -a --delete-after empty/ ~/", "rm -rf ~"],
    ["rsync -r --del empty/ $HOME", "rm -rf ~"],
    ["rsync -a --remove-source-files ~ /tmp/elsewhere", "rm -rf ~"],
    ["rm -r /", "rm -rf /"],
    ["rm -R ~", "rm -rf ~"],
    ["rm --recursive ~/", "rm -rf ~"],
    ["rm -r -f //", "rm -rf /"],
    ["/bin/rm -r /", "rm -rf /"],
    ["rm -r ~/..", "rm -rf ~"],
    ["mv ~ /tmp/gone", "rm -rf ~"],
    ["mv -t /tmp ~", "rm -rf ~"],
    ["cd / && rm -r .", "rm -rf /"],
    ["cd ~ && rm -r ./", "rm -rf ~"],
    ["sudo find / -delete", "rm -rf /"],
    ["timeout 5 rsync -a --delete empty/ /", "rm -rf /"],
    ["bash -c 'find / -delete'", "rm -rf /"],
  ]);
  it("denies a deletion of a directory above ~ (the home lies inside it), naming the rule", () => {
    const v = decide(`rm -r ${join(home, "..")}`, { deny: SEED_DENY });
    assert.equal(v.decision, "deny", v.reason);
    assert.equal(v.rule, "rm -rf ~");
    assert.match(v.reason, /recursive deletion of ~/);
  });
  it("denies the home spelled as its absolute path", () => {
    const v = decide(`rm -r ${home}`, { deny: SEED_DENY });
    assert.equal(v.rule, "rm -rf ~", v.reason);
  });
  allowed([
    "find . -name '*.o' -delete",
    "find / -name '*.pyc' -delete",
    "find build -delete",
    "find ~/project/build -delete",
    "rsync -a --delete empty/ build/",
    "rsync -a src/ /tmp/backup/",
    "rm -r build",
    "rm -r ~/project/build",
    "mv a.o b.o",
    "find / -name x -print",
    "dd if=/dev/zero of=disk.img bs=1M count=1",
  ]);
});

describe("6b: `rm -rf /*` (the hybrid seed) means /, not every absolute path", () => {
  denied([
    ["find / -delete", "rm -rf /*"],
    ["rsync -a --delete empty/ /", "rm -rf /*"],
  ], ["rm -rf /*"]);
  allowed(["rm -r build", "find build -delete", "rsync -a --delete empty/ build/"], ["rm -rf /*"]);
});

describe("6b: `rm -rf` without operand (the cli-scoping seed) means any recursive deletion", () => {
  denied([
    ["rm -r build", "rm -rf"],
    ["find build -delete", "rm -rf"],
    ["rsync -a --delete empty/ build/", "rm -rf"],
  ], ["rm -rf"]);
  allowed(["find . -name '*.o' -delete", "mv a.o b.o", "rm a.o"], ["rm -rf"]);
});

describe("6b: writes to a block device, for the deny `> /dev/sda`", () => {
  denied([
    ["dd if=x of=/dev/sda", "> /dev/sda"],
    ["dd if=/dev/zero of=/dev/sda1 bs=1M", "> /dev/sda"],
    ["dd if=x of=/dev/nvme0n1", "> /dev/sda"],
    ["cat x > /dev/sda", "> /dev/sda"],
    ["echo x >> /dev/sdb", "> /dev/sda"],
    ["echo x | tee /dev/sda", "> /dev/sda"],
    ["cp disk.img /dev/sda", "> /dev/sda"],
    ["mkfs.ext4 /dev/sda1", "> /dev/sda"],
    ["wipefs -a /dev/sda", "> /dev/sda"],
    ["sgdisk --zap-all /dev/sda", "> /dev/sda"],
    ["shred /dev/sda", "> /dev/sda"],
    ["dd if=x of=/dev/disk/by-id/ata-X", "> /dev/sda"],
    ["dd if=x of=/dev/$D", "> /dev/sda"],
    ["{ cat x; } > /dev/sda", "> /dev/sda"],
  ]);
  allowed(["echo hi > /dev/null", "cat x > out.img", "dd if=/dev/sda of=disk.img", "wipefs /dev/sda", "fdisk -l /dev/sda", "sgdisk -p /dev/sda", "echo x | tee out.txt"]);
  it("a deny `dd if=* of=/dev/*` has the same intent", () => {
    const v = decide("cat x > /dev/sdc", { deny: ["dd if=* of=/dev/*"] });
    assert.equal(v.decision, "deny", v.reason);
    assert.equal(v.rule, "dd if=* of=/dev/*");
  });
  it("a deny `> /etc/hosts` forbids that one file to every writer, and only it", () => {
    assert.equal(decide("echo x | tee -a /etc/hosts", { deny: ["> /etc/hosts"] }).decision, "deny");
    assert.equal(decide("cp x /etc/hosts", { deny: ["> /etc/hosts"] }).decision, "deny");
    assert.notEqual(decide("cp x /etc/hostname", { deny: ["> /etc/hosts"] }).rule, "> /etc/hosts");
  });
});

describe("6b: ask rules read the same way", () => {
  it("an ask `rm -rf ~` asks for `find ~ -delete`, naming the rule", () => {
    const v = decide("find ~ -delete", { ask: ["rm -rf ~"] });
    assert.equal(v.decision, "ask", v.reason);
    assert.equal(v.rule, "rm -rf ~");
  });
});

describe("write patterns", () => {
  it("`> /dev/sda` compiles to a write pattern", () => assert.deepEqual(compilePattern("> /dev/sda"), { kind: "write", path: "/dev/sda" }));
  it("a redirection to a relative path is refused with what to write instead", () => assert.throws(() => compilePattern("> out.txt"), /absolute/));
  it("an allow rule of a redirection is refused at load time", () =>
    assert.throws(() => compileBashRules([rule("allow", "Bash(> /dev/sda)", 0)]), (e: unknown) => e instanceof PolicyError && /redirection/.test(e.message)));
});
