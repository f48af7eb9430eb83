// The bash parser and word expansion behind src/policy/shell/analyze.ts. Expected values were
// checked against bash 5 (`bash -n -c LINE` for syntax, `set -- WORDS; printf '%s\0' "$@"` for words).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CommandNode, Program, SimpleNode } from "../../src/policy/shell/ast.js";
import { parseShell, ShellSyntaxError } from "../../src/policy/shell/parser.js";
import { basename, decodeAnsiC, expandWord } from "../../src/policy/shell/words.js";

function simples(p: Program): SimpleNode[] {
  const out: SimpleNode[] = [];
  const visit = (c: CommandNode): void => {
    if (c.t === "simple") out.push(c);
    else for (const b of c.bodies) for (const pl of b.pipelines) pl.cmds.forEach(visit);
  };
  for (const pl of p.pipelines) pl.cmds.forEach(visit);
  return out;
}

/** Fields of every word of the first simple command. */
function fields(line: string): string[] {
  const cmd = simples(parseShell(line))[0];
  assert.ok(cmd, line);
  return cmd.words.flatMap((w) => expandWord(w).fields.map((f) => f.text));
}

describe("shell parser: syntax accepted exactly where bash accepts it", () => {
  const ok = [
    "a;", "a &", "a & b", "{ a; }", "(a)", "echo }", "echo {", "{ echo }; }", "echo ]]", "[[ a ]]", "echo done",
    "f() { a; }", "x=1", "x=(a b) y", "declare -a x=(1 2)", "case a in a) ;; esac", "case a in (a|b) c ;; esac", "case a in esac",
    "if a\nthen b\nfi", "a\n\n\nb", "a \\\n && b", "echo $((1+2)) $[1+2]", "echo ${a:-{b}}", "cat <<E\nx\nE\ny", "cat <<E",
    "cat <<'E' <<F\na\nE\nb\nF", 'echo "`a`"', "time", "! !", "a |& b", "coproc a", "echo >&2 x", "2>&1", "> f", "a 2>&-",
    "exec {fd}>f", "echo @(a|b) !(c)", "for x in a b; { c; }", "while a; do b; done | c", "select x; do a; done", "a && b || c &",
    "echo $(echo ')')", "echo $(case a in a) b;; esac)", 'echo $(echo ")")', "[[ a =~ (b|c) ]]", "(( a ))", "echo \\", "a # b )",
    "echo ${a[$(b)]}", "while :; do :; done", "{ a; } && { b; }", "(a) | (b)", "echo 'a'\"b\"$'c'$\"d\"", "a=b c=d", "x[1]=2",
    "echo a}", "echo then fi", "a then", "function f() (a)", "!", "! ; a", "!\na",
  ];
  for (const line of ok) it(`accepts ${JSON.stringify(line)}`, () => assert.doesNotThrow(() => parseShell(line)));

  const bad = [
    "echo (", "a & ; b", "if a; then b", "echo $(x", "case x in a) b", "a &&", "| a", "a ;; b", "fi", "{ a", "for in; do", "( )",
    "a | | b", "{a; }", "[[ a", "done", "f() a", "function f a", "x=(a", "echo a=(b)", "echo ${a", "echo `a", "echo a >", "echo a(b)",
    ";", "$(", "((a", "echo $'a", "if; then a; fi", "} ", "then", "echo 'a", 'echo "a', "! && a", "a | !", "! )",
  ];
  for (const line of bad) it(`rejects ${JSON.stringify(line)}`, () => assert.throws(() => parseShell(line), ShellSyntaxError));
});

describe("shell parser: structure", () => {
  it("reserved words are recognised only unquoted and in command position", () => {
    assert.deepEqual(
      simples(parseShell("'if' x; \\{ y; echo if then fi")).map((c) => c.words.map((w) => w.raw)),
      [["'if'", "x"], ["\\{", "y"], ["echo", "if", "then", "fi"]],
    );
  });

  it("assignments only before the command name, and only unquoted", () => {
    const [a, b] = simples(parseShell('A=1 B+=2 C[0]=3 cmd D=4; "E"=5'));
    assert.deepEqual([a?.assigns.map((w) => w.raw), a?.words.map((w) => w.raw), b?.words.map((w) => w.raw)], [["A=1", "B+=2", "C[0]=3"], ["cmd", "D=4"], ['"E"=5']]);
  });

  it("here-documents: several on one line, <<- strips tabs, quoted delimiter keeps text literal", () => {
    const [cmd] = simples(parseShell("cat <<A <<-'B'\n$x\nA\n\t$y\n\tB\nnext"));
    const docs = cmd?.redirs.map((r) => [r.heredoc?.delimiter, r.heredoc?.quoted, r.heredoc?.body.raw]);
    assert.deepEqual(docs, [
      ["A", false, "$x\n"],
      ["B", true, "$y\n"],
    ]);
  });

  it("a partly quoted here-document delimiter counts as quoted", () => {
    const r = simples(parseShell("cat <<E\"O\"F\n$(x)\nEOF"))[0]?.redirs[0];
    assert.deepEqual([r?.heredoc?.delimiter, r?.heredoc?.quoted, r?.heredoc?.body.parts.length], ["EOF", true, 1]);
  });

  it("an unterminated here-document runs to the end of input", () => {
    const r = simples(parseShell("cat <<EOF\nline"))[0]?.redirs[0];
    assert.deepEqual([r?.heredoc?.complete, r?.heredoc?.body.raw], [false, "line"]);
  });

  it("redirections: descriptors and operators", () => {
    const c = simples(parseShell("a 2>>e 3<&0 &>o >|p <>q 4<<<s {v}>f"))[0];
    assert.deepEqual(
      c?.redirs.map((r) => [r.fd ?? r.fdVar ?? null, r.op, r.target?.raw]),
      [
        [2, ">>", "e"],
        [3, "<&", "0"],
        [null, "&>", "o"],
        [null, ">|", "p"],
        [null, "<>", "q"],
        [4, "<<<", "s"],
        ["v", ">", "f"],
      ],
    );
  });

  it("name[...] where an assignment may start is one word across blanks, as in bash", () => {
    const c = simples(parseShell("x[1 2]=3 A=1 cmd a[b c]"))[0];
    assert.deepEqual([c?.assigns.map((w) => w.raw), c?.words.map((w) => w.raw)], [["x[1 2]=3", "A=1"], ["cmd", "a[b", "c]"]]);
  });

  it("a word with a digit prefix not followed by < or > is a word", () => {
    assert.deepEqual(fields("echo 2 2x 2>f"), ["echo", "2", "2x"]);
  });

  it("`$((` that is not arithmetic falls back to a command substitution", () => {
    const part = simples(parseShell("echo $((a) )"))[0]?.words[1]?.parts[0];
    assert.equal(part?.k, "cmdsub");
  });
});

describe("shell words: quote removal and expansion, as bash", () => {
  const rows: [string, string[]][] = [
    ["c''url x", ["curl", "x"]],
    ["\\curl x", ["curl", "x"]],
    ["cu\\\nrl x", ["curl", "x"]],
    ['echo "a\\\nb"', ["echo", "ab"]],
    ["echo 'a\\\nb'", ["echo", "a\\\nb"]],
    ['echo "a\\$b\\"c\\d"', ["echo", 'a$b"c\\d']],
    ["echo a\\\\b 'c\\d' \"e\\\\f\"", ["echo", "a\\b", "c\\d", "e\\f"]],
    ["{curl,-s,x}", ["curl", "-s", "x"]],
    ["echo {a..c}{,.bak}", ["echo", "a", "a.bak", "b", "b.bak", "c", "c.bak"]],
    ["echo {-1..1} {a..e..2} {1..-3..2} {z..x}", ["echo", "-1", "0", "1", "a", "c", "e", "1", "-1", "-3", "z", "y", "x"]],
    ["echo x{,}y {,a} {a,}", ["echo", "xy", "xy", "a", "a"]],
    ["echo a{b,{c,d}e}f", ["echo", "abf", "acef", "adef"]],
    ["echo {a,b\\,c} {a,'b,c'}", ["echo", "a", "b,c", "a", "b,c"]],
    ['echo "{a,b}"x{1..2}', ["echo", "{a,b}x1", "{a,b}x2"]],
    ["echo {1..3..0} {a..\\c} {{a,b}} {} {,}", ["echo", "1", "2", "3", "{a..c}", "{a}", "{b}", "{}"]],
    ["echo {a{b,c}", ["echo", "{ab", "{ac"]],
    ["echo {01..03}", ["echo", "01", "02", "03"]],
  ];
  for (const [line, want] of rows) it(JSON.stringify(line), () => assert.deepEqual(fields(line), want));

  it("dynamic and glob flags", () => {
    const cmd = simples(parseShell("a $x \"$y\" '$z' *.c '*.c' [ab] [ @(x) ${w} $(v) $((1)) <(u)"))[0];
    const flags = cmd?.words.flatMap((w) => expandWord(w).fields.map((f) => `${f.dynamic ? "D" : ""}${f.glob ? "G" : ""}`));
    assert.deepEqual(flags, ["", "D", "D", "", "G", "", "G", "", "G", "D", "D", "D", "D"]);
  });

  it("$'...' escapes", () => {
    assert.deepEqual(
      [decodeAnsiC("\\x63url"), decodeAnsiC("\\143"), decodeAnsiC("\\u0063\\U00000063"), decodeAnsiC("a\\0b"), decodeAnsiC("\\e[0m"), decodeAnsiC("\\cA"), decodeAnsiC("\\q\\'\\\\"), decodeAnsiC("\\xZ")],
      ["curl", "c", "cc", "a", "\x1b[0m", "\x01", "\\q'\\", "\\xZ"],
    );
  });

  it("basename", () => {
    assert.deepEqual([basename("/usr/bin/curl"), basename("./curl"), basename("curl"), basename("dir/")], ["curl", "curl", "curl", "dir/"]);
  });
});
