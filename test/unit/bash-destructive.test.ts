// The destructive-variants table (src/policy/builtin/bash-destructive.ts), entry by entry: a wildcard
// allow written for the harmless form allows that form, but not the destructive example (it asks,
// and the reason names the entry); the allowCommands prefix of the same program does not either; an
// exact allow does. Then cases around the edges: spellings of the same flag, verbs behind global
// options, and the variants the code-through-arguments table already covers.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileBashRules } from "../../src/policy/builtin/bash.js";
import { DESTRUCTIVE_ENTRIES, findDestructive } from "../../src/policy/builtin/bash-destructive.js";
import { EXEC_ARG_ENTRIES, programFamily } from "../../src/policy/builtin/bash-exec-args.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileJudge } from "../../src/policy/builtin/types.js";
import { analyzeCommand } from "../../src/policy/shell/index.js";

const CTX: BuiltinContext = { cwd: "/home/user/project", workingDirectories: ["/home/user/project"], mode: "default" };
// Files are the Read/Edit rules' business (tested elsewhere); here every file access is fine, so an
// ask can only come from the rules and the tables.
const NO_FILES: FileJudge = { checkAccess: () => undefined, hasDeny: () => false };
const SOURCE = { layer: "project" as const, file: "/p/.mcp-warden/settings.json", path: "permissions.allow[0]" };

function rule(effect: BuiltinRule["effect"], specifier: string, prefix = false): BuiltinRule {
  const r: BuiltinRule = { effect, tool: "Bash", specifier, text: `Bash(${specifier})`, source: SOURCE };
  if (prefix) r.prefix = true;
  return r;
}

function judge(rules: BuiltinRule[], command: string): BuiltinVerdict {
  return compileBashRules(rules).decide({ command }, CTX, NO_FILES);
}

function idsOf(line: string): string[] {
  return analyzeCommand(line).commands.flatMap((c) => findDestructive(c).map((f) => f.entry.id));
}

/** The program and, for git and compose-like tools, the subcommand: what an allowCommands prefix names. */
function prefixOf(example: string): string {
  const argv = analyzeCommand(example).commands[0]?.argv ?? [];
  const sub = argv.slice(1).find((w) => !w.startsWith("-"));
  return argv[0] === "git" && sub !== undefined ? `git ${sub}` : (argv[0] as string);
}

describe("destructive-variants table", () => {
  it("every entry has a reason, an example, a harmless form, a wildcard allow for it and a unique id", () => {
    const ids = new Set<string>(EXEC_ARG_ENTRIES.map((e) => e.id));
    for (const e of DESTRUCTIVE_ENTRIES) {
      assert.ok(e.reason.length > 10 && e.example.length > 0 && e.nearMiss.length > 0, e.id);
      assert.ok(e.allowedBy.includes("*"), `${e.id}: allowedBy must be a wildcard allow`);
      assert.ok(!ids.has(e.id), `duplicate id ${e.id} (ids are unique across both tables)`);
      ids.add(e.id);
    }
  });

  for (const e of DESTRUCTIVE_ENTRIES) {
    describe(e.id, () => {
      it(`${JSON.stringify(e.example)} triggers it; ${JSON.stringify(e.nearMiss)} does not`, () => {
        assert.ok(idsOf(e.example).includes(e.id), idsOf(e.example).join(","));
        assert.ok(!idsOf(e.nearMiss).includes(e.id));
      });

      it(`Bash(${e.allowedBy}) allows ${JSON.stringify(e.nearMiss)} but asks for ${JSON.stringify(e.example)}, naming why`, () => {
        assert.equal(judge([rule("allow", e.allowedBy)], e.nearMiss).decision, "allow");
        const v = judge([rule("allow", e.allowedBy)], e.example);
        assert.equal(v.decision, "ask");
        assert.ok(v.reason.includes(e.reason), v.reason);
        assert.match(v.reason, /only an allow rule without \* that matches the whole command allows it/);
      });

      const prefix = prefixOf(e.example);
      it(`the allowCommands prefix ${JSON.stringify(prefix)} asks for it too`, () => {
        const v = judge([rule("allow", prefix, true)], e.example);
        assert.equal(v.decision, "ask");
        assert.ok(v.reason.includes(e.reason), v.reason);
        assert.match(v.reason, /is an allowCommands prefix/);
      });

      it(`Bash(${e.example}), an allow without *, allows it`, () => assert.equal(judge([rule("allow", e.example)], e.example).decision, "allow"));
    });
  }
});

describe("spellings and positions of the same variant", () => {
  const hits: Array<[string, string]> = [
    ["git branch -v -D main", "git branch -d"],
    ["git branch --delete main", "git branch -d"],
    ["git branch --del main", "git branch -d"],
    ["git -C /repo branch -D x", "git branch -d"],
    ["git -c color.ui=never branch -D x", "git branch -d"],
    ["git push -fu origin main", "git push --force"],
    ["git push --force-with-lease", "git push --force"],
    ["git push origin --delete old", "git push --force"],
    ["git push origin :old", "git push +refspec"],
    ["git clean -xdf", "git clean -f"],
    ["git checkout HEAD~1 src/a.ts", "git checkout -- paths"],
    ["git checkout .", "git checkout -- paths"],
    ["git checkout -f main", "git checkout -- paths"],
    ["git restore --staged --worktree src/a.ts", "git restore"],
    ["git restore -SW src/a.ts", "git restore"],
    ["zip -rm src.zip src", "zip -m"],
    ["rsync -a --delete-after src/ dest/", "rsync --delete"],
    ["rsync -a --remove-source-files src/ dest/", "rsync --delete"],
    ["tar xUf a.tar", "tar --remove-files"],
    ["tar --delete -f a.tar member", "tar --remove-files"],
    ["chown -R nobody /srv", "chmod -R"],
    ["kubectl delete pod web-1", "kubectl delete"],
    ["oc --namespace prod drain node-1", "kubectl delete"],
    ["docker rmi alpine", "docker rm"],
    ["podman volume prune -f", "docker rm"],
    ["docker-compose down --volumes", "docker compose down -v"],
    ["terraform state rm aws_instance.web", "terraform destroy"],
    ["gh api --method=DELETE repos/o/r", "gh api -X DELETE"],
    ["aws ec2 terminate-instances --instance-ids i-1", "aws delete"],
    ["aws s3 sync . s3://b --delete", "aws delete"],
    ["redis-cli -n 2 flushdb", "redis-cli flushall"],
    ["cargo yank --version 1.0.0", "npm unpublish"],
    ["gem yank mygem -v 1.0.0", "npm unpublish"],
    ["git switch --discard-changes main", "git switch --discard-changes"],
    ["az group delete -n rg", "gcloud delete"],
    ["helm -n prod un web", "helm uninstall"],
    ["/usr/bin/shred -u x", "shred"],
    ["sudo dd if=x.img of=/dev/sdb", "dd of="],
  ];
  for (const [line, id] of hits) it(`${line} is ${id}`, () => assert.ok(idsOf(line).includes(id), idsOf(line).join(",") || "no hit"));

  const misses = [
    "git branch -a --contains HEAD",
    "git branch --format=%(refname) -v",
    "git push --follow-tags origin main",
    "git push origin HEAD:refs/for/main",
    "git checkout -b feature origin/feature",
    "git checkout main",
    "git restore --staged src/a.ts",
    "git stash push -m drop",
    "git fetch --prune",
    "git tag -l -n",
    "rm -rf build",
    "rsync -a --max-delete=0 src/ dest/",
    "tar -xzf a.tgz",
    "chmod -r notes.txt",
    "docker run --rm alpine echo hi",
    "kubectl get pods -l app=web",
    "npm run build",
    "zip -r a.zip src",
  ];
  for (const line of misses) it(`${line} is none of them`, () => assert.deepEqual(idsOf(line), []));

  it("a dynamic word where a verb could be counts: kubectl $VERB pod x asks under Bash(kubectl *)", () => {
    assert.ok(idsOf("kubectl $VERB pod x").includes("kubectl delete"));
    assert.equal(judge([rule("allow", "kubectl *")], "kubectl $VERB pod x").decision, "ask");
  });

  it("a destructive command in a list, a subshell, xargs or sh -c is judged on its own", () => {
    for (const line of ["git status && git branch -D x", "(git fetch; git reset --hard)", "echo x | xargs git branch -D", "sh -c 'git clean -fdx'"]) {
      const v = judge([rule("allow", "git:*"), rule("allow", "echo *"), rule("allow", "xargs *"), rule("allow", "sh *")], line);
      assert.equal(v.decision, "ask", line);
      assert.match(v.reason, /deletes|discards/, line);
    }
  });

  it("Bash allowed whole (allowedTools: [\"Bash\"]) does not let them through either", () => {
    const v = judge([{ effect: "allow", tool: "Bash", text: "Bash", source: SOURCE }], "git push --force origin main");
    assert.equal(v.decision, "ask");
    assert.match(v.reason, /overwrites or deletes history/);
  });

});

describe("variants the code-through-arguments table already keeps off a wildcard allow", () => {
  // find -delete and find -exec rm, sed -i: decided there (same rule: an exact allow is needed).
  const covered: Array<[string, string, string]> = [
    ["find . -name x.log -delete", "find -delete", "find:*"],
    ["find . -name x.log -exec rm {} +", "find -exec", "find:*"],
    ["sed -i 's/a/b/' src/x.ts", "sed -i", "sed *"],
  ];
  for (const [line, id, allow] of covered)
    it(`${line} (entry ${id}) asks under Bash(${allow}) and is allowed by its exact rule`, () => {
      assert.ok(EXEC_ARG_ENTRIES.some((e) => e.id === id && e.programs.includes(programFamily(line.split(" ")[0] as string))));
      assert.equal(judge([rule("allow", allow)], line).decision, "ask");
      assert.equal(judge([rule("allow", line)], line).decision, "allow");
    });

  it("find -exec rm -rf: the rm it runs is judged too (denied by a deny of rm -rf)", () => {
    assert.equal(judge([rule("allow", "find . -name build -exec rm -rf {} +"), rule("deny", "rm -rf")], "find . -name build -exec rm -rf {} +").decision, "deny");
  });
});
