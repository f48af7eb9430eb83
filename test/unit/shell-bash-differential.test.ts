// Differential check of the shell analysis against the real bash, when one is installed (skipped
// otherwise). Bash never runs the generated lines: `bash -n` only parses, and `declare -f` prints
// bash's own rendering of a function whose body is the line, without calling it.
//  - words: `set -- WORDS; printf '%s\0' "$@"` shows the words bash passes after quote removal and
//    brace expansion (only builtins run);
//  - structure: analysing bash's rendering of the line must find the same commands as analysing the
//    line itself, so our reading of lists, pipelines, compounds and quoting agrees with bash's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { analyzeCommand } from "../../src/policy/shell/analyze.js";

const bash = spawnSync("bash", ["-c", "echo ok"], { encoding: "utf8" });
const skip = bash.status !== 0 ? "bash is not installed" : false;

const TOKENS = [
  "curl", "x", " ", " ", ";", "\n", "|", "&&", "||", "&", "'a b'", '"c $d"', '"$(e "f")"', "`g \\`h\\``", "$'i\\x27'", "j\\ k", "l\\\nm",
  "${n:-$(o)}", "$((1+2))", "p=(q r)", "s[1]=t", "cat <<'E'\n$(u)\nE\n", "cat <<-E\n\t$(v)\n\tE\n", "w <<< $(y)", "{z,Z}", "A{1..3}",
  "# B\n", "\\#C", "D#E", "F=G ", "<(H)", ">(I)", "[[ J =~ (K|L) ]]", "case M in N|O) P;; esac", "(( Q ))", "R() ( S )",
  "function T { U; }", "{ V; }", "( W )", "X 2>&1 >Y", "&> Z", "if a; then b; elif c; then d; else e; fi", "for k; do m; done",
  "until q; do r; done", "eval s t", "sh -c 'u v'", 'bash -lc "w $x"', "xargs y", "find . -exec z {} +", "env -i A=1 B",
  "timeout 1 C", "\\D", "E''F", "! ", "sudo ", "time ",
];

function generator(seed: number): () => string {
  let s = seed;
  const rnd = (): number => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
  return () => {
    let line = "";
    const n = 1 + Math.floor(rnd() * 7);
    for (let k = 0; k < n; k++) line += TOKENS[Math.floor(rnd() * TOKENS.length)];
    return line;
  };
}

function commandsOf(line: string): string {
  const a = analyzeCommand(line);
  if (a.parseError !== undefined) return "ERROR";
  return a.commands
    .map((c) => `${c.program}${JSON.stringify(c.argv)}${c.unresolved ? "!" : ""}`)
    .sort()
    .join(" ");
}

describe("shell analysis agrees with bash", { skip }, () => {
  it("on the words bash passes", () => {
    const lines = ["$'\\x63url' x", "c''url x", "\\curl x", "cu\\\nrl x", 'echo "a\\$b\\"c\\d"', "{curl,-s,x}", "echo {a..c}{,.bak}", "echo {-1..1} {a..e..2} {z..x}", "echo x{,}y {,a}", "echo a{b,{c,d}e}f", "echo {a,b\\,c} {a,'b,c'}", "echo {a{b,c}", "echo {{a,b}} {} {,}", "echo a\\\\b 'c\\d' \"e\\\\f\"", "echo $'\\e[0m' $'a\\'b' $'cu\\0rl'"];
    for (const line of lines) {
      const real = spawnSync("bash", ["-c", `set -- ${line}\nprintf '%s\\0' "$@"`], { encoding: "utf8" }).stdout.split("\0").slice(0, -1);
      assert.deepEqual(analyzeCommand(line).commands[0]?.argv, real, line);
    }
  });

  it("on the structure of 300 generated lines", () => {
    const next = generator(20261122);
    let compared = 0;
    for (let t = 0; t < 300; t++) {
      const line = next();
      const r = spawnSync("bash", ["-c", `f() {\n${line}\n}\ndeclare -f f`], { encoding: "utf8" });
      const body = r.stdout.split("\n").slice(2, -2).join("\n");
      if (r.status !== 0 || !body.trim()) continue; // bash rejects the line, nothing to compare
      compared++;
      assert.equal(commandsOf(line), commandsOf(body), `${JSON.stringify(line)}\nbash reads it as ${JSON.stringify(body)}`);
    }
    assert.ok(compared > 100, `only ${compared} lines compared`);
  });
});
