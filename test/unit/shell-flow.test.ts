// What the shell analyzer reports beyond the commands themselves, for the Bash judge: data flow
// (pipes and substitutions), who runs whom (parent), pipeline stages, redirections of compound
// commands, glob and run-time redirect targets, and why a command is unresolved.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyzeCommand } from "../../src/policy/shell/index.js";

/** `a -> b` for every pair of commands (by argv[0] or their text) that a flow connects. */
function flows(line: string): string[] {
  const a = analyzeCommand(line);
  const name = (i: number): string => a.commands[i]?.argv.join(" ") || `(${a.commands[i]?.text})`;
  const out = new Set<string>();
  for (const f of a.flows) for (let i = f.from[0]; i < f.from[1]; i++) for (let j = f.to[0]; j < f.to[1]; j++) out.add(`${name(i)} -> ${name(j)}`);
  return [...out].sort();
}

describe("flows", () => {
  const rows: Array<[string, string[]]> = [
    ["a | b", ["a -> b"]],
    ["a | b | c", ["a -> b", "b -> c"]],
    ["a; b", []],
    ["a && b", []],
    ["b $(a)", ["a -> b $(a)"]],
    ["b <(a)", ["a -> b <(a)"]],
    ["b < <(a)", ["a -> b"]],
    ["b <<< \"$(a)\"", ["a -> b"]],
    ["sudo b $(a)", ["a -> b $(a)", "a -> sudo b $(a)"]],
    ["a | (b; c)", ["a -> b", "a -> c"]],
    ["for x in $(a); do b; done", ["a -> b"]],
    ["a | sh -c 'b | c'", ["a -> sh -c b | c", "a -> b", "a -> c", "b -> c"]],
  ];
  for (const [line, want] of rows) it(JSON.stringify(line), () => assert.deepEqual(flows(line), [...want].sort()));
});

describe("parents", () => {
  it("wrapped commands, shell strings and find -exec point at what runs them; substitutions do not", () => {
    const a = analyzeCommand("sudo timeout 5 sh -c 'ls $(id)' && find . -exec cat {} \\; && echo $(date)");
    const byText = (t: string): number => a.commands.findIndex((c) => c.argv.join(" ") === t);
    const parentOf = (t: string): string | undefined => {
      const p = a.commands[byText(t)]?.parent;
      return p === undefined ? undefined : a.commands[p]?.argv.join(" ");
    };
    assert.equal(parentOf("timeout 5 sh -c ls $(id)"), "sudo timeout 5 sh -c ls $(id)");
    assert.equal(parentOf("sh -c ls $(id)"), "timeout 5 sh -c ls $(id)");
    assert.equal(parentOf("ls $(id)"), "sh -c ls $(id)");
    assert.equal(parentOf("id"), "sh -c ls $(id)");
    assert.equal(parentOf("cat {}"), "find . -exec cat {} ;");
    assert.equal(a.parseError, undefined);
    assert.equal(parentOf("date"), undefined);
    assert.equal(parentOf("sudo timeout 5 sh -c ls $(id)"), undefined);
  });
});

describe("pipeline stages, compound redirections, targets", () => {
  it("the simple command of each stage knows its pipeline, index and count", () => {
    const a = analyzeCommand("a | b x | c; d");
    assert.deepEqual(a.commands.map((c) => c.stage && [c.stage.index, c.stage.count]), [[0, 3], [1, 3], [2, 3], [0, 1]]);
    assert.equal(a.commands[0]?.stage?.pipeline, a.commands[2]?.stage?.pipeline);
    assert.notEqual(a.commands[0]?.stage?.pipeline, a.commands[3]?.stage?.pipeline);
  });
  it("redirections of compound commands are reported with the commands inside", () => {
    const a = analyzeCommand("while read l; do echo $l; done < in.txt > out.txt");
    assert.equal(a.compoundRedirects.length, 1);
    const r = a.compoundRedirects[0];
    assert.equal(r?.kind, "while");
    assert.deepEqual(r?.redirects.map((x) => [x.op, x.target]), [["<", "in.txt"], [">", "out.txt"]]);
    assert.deepEqual([r?.first, r?.end], [0, 2]);
  });
  it("a redirect target that is not static keeps its text and kind", () => {
    const a = analyzeCommand('cat < "$F" > out-*.txt <<< "$y"');
    assert.deepEqual(a.commands[0]?.redirects, [
      { op: "<", target: undefined, targetText: '"$F"', targetKind: "unknown" },
      { op: ">", target: undefined, targetText: "out-*.txt", targetKind: "glob" },
      { op: "<<<", target: undefined },
    ]);
  });
  it("glob words are listed apart from dynamic ones", () => {
    const c = analyzeCommand('ls *.ts "$x" a?').commands[0];
    assert.deepEqual([c?.dynamicArgs, c?.globArgs], [[1, 2, 3], [1, 3]]);
  });
  it("xargs without -I marks its command as getting words from input", () => {
    const a = analyzeCommand("xargs grep x; xargs -I{} grep x {}");
    assert.deepEqual(a.commands.map((c) => c.argsFromInput === true), [false, true, false, false]);
  });
});

describe("why a command is unresolved", () => {
  it("code hidden in variable values is marked as such", () => {
    for (const line of ["echo $((x))", "(( x ))", "let x=1", "declare -i x", "echo ${a[i]}", "alias c=curl"])
      assert.ok(analyzeCommand(line).commands.some((c) => c.unresolved && c.hiddenCode), line);
  });
  it("an unknown command is not hidden code", () => {
    for (const line of ["$X y", 'bash -c "$X"', 'eval "$X"', "$X $((y))", 'bash -c "$X" $((y))'])
      assert.ok(analyzeCommand(line).commands.some((c) => c.unresolved && !c.hiddenCode), line);
  });
  it("a shell string that does not parse keeps its text", () => {
    const c = analyzeCommand("sh -c 'echo \"'").commands.find((x) => x.unparsed !== undefined);
    assert.equal(c?.unparsed, 'echo "');
  });
});

describe("for-loop variables", () => {
  it("a word that is exactly a loop variable carries the loop's words", () => {
    const c = analyzeCommand('for f in src/*.ts a; do cat "$f" ${f} "$f.x"; done').commands[0];
    assert.deepEqual(c?.loopValues, {
      1: [{ text: "src/*.ts", glob: true }, { text: "a", glob: false }],
      2: [{ text: "src/*.ts", glob: true }, { text: "a", glob: false }],
    });
  });
  it("a variable set elsewhere in the line, or a list that is not static, carries nothing", () => {
    for (const line of ['for f in a; do f=b; cat "$f"; done', 'for f in a; do read -r f; cat "$f"; done', 'for f in $(ls); do cat "$f"; done', 'for f; do cat "$f"; done', 'for f in a; do eval x; cat "$f"; done'])
      assert.ok(analyzeCommand(line).commands.every((c) => c.loopValues === undefined), line);
  });
});

describe("watch and ionice", () => {
  const rows: Array<[string, string[]]> = [
    ["watch curl x", ['top ["watch","curl","x"]', 'sh -c ["curl","x"]']],
    ["watch -n 5 'curl x | sh'", ['top ["watch","-n","5","curl x | sh"]', 'sh -c ["curl","x"]', 'sh -c ["sh"] UNRESOLVED']],
    ["watch -x curl 'a b'", ['top ["watch","-x","curl","a b"]', 'wrapper ["curl","a b"]']],
    ["watch --bogus ls", ['top ["watch","--bogus","ls"] UNRESOLVED']],
    ["ionice -c3 curl x", ['top ["ionice","-c3","curl","x"]', 'wrapper ["curl","x"]']],
    ["ionice -p 123", ['top ["ionice","-p","123"]']],
  ];
  for (const [line, want] of rows)
    it(JSON.stringify(line), () =>
      assert.deepEqual(
        analyzeCommand(line).commands.map((c) => `${c.source} ${JSON.stringify(c.argv)}${c.unresolved ? " UNRESOLVED" : ""}`),
        want,
      ),
    );
});
