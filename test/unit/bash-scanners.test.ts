// The sed and awk readers behind the exec-through-arguments table and the file extraction.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { awkIsUnsafe, scanAwk } from "../../src/policy/builtin/bash-awk.js";
import { scanSed } from "../../src/policy/builtin/bash-sed.js";

describe("sed scripts", () => {
  const rows: Array<[script: string, want: { exec?: boolean; commands?: string[]; writes?: string[]; reads?: string[]; unparsed?: boolean }]> = [
    ["1,20p", {}],
    ["/foo/,/bar/p", {}],
    ["s/a|b/c/g; s#x#y#", {}],
    ["$!N;P;D", {}],
    ["0,/re/s//x/", {}],
    ["/w/p", {}],
    ["y/abc/xyz/", {}],
    ["1~2d", {}],
    ["/x/I,+3{s/a/b/2;p}", {}],
    ["a hello; w not a file", {}],
    [":a;N;$!ba;s/\\n/ /g", {}],
    ["1e touch /tmp/x", { exec: true, commands: ["touch /tmp/x"] }],
    ["s/x/id/e", { exec: true }],
    ["s/x/y/ge", { exec: true }],
    ["e", { exec: true }],
    ["1w /home/user/.zshrc", { writes: ["/home/user/.zshrc"] }],
    ["W out.txt", { writes: ["out.txt"] }],
    ["s/a/b/w out.txt", { writes: ["out.txt"] }],
    ["w /dev/stdout", {}],
    ["r .env", { reads: [".env"] }],
    ["1R .env", { reads: [".env"] }],
    ["s/a/b", { unparsed: true }],
    ["k", { unparsed: true }],
    ["w", { unparsed: true }],
  ];
  for (const [script, want] of rows)
    it(JSON.stringify(script), () => {
      const s = scanSed(script);
      assert.equal(s.exec, want.exec ?? false, "exec");
      assert.deepEqual(s.commands, want.commands ?? [], "commands");
      assert.deepEqual(s.writes, want.writes ?? [], "writes");
      assert.deepEqual(s.reads, want.reads ?? [], "reads");
      assert.equal(s.unparsed !== undefined, want.unparsed ?? false, `unparsed: ${s.unparsed}`);
    });
});

describe("awk programs", () => {
  const rows: Array<[program: string, unsafe: boolean, extra?: { commands?: string[]; outputs?: string[]; inputs?: string[] }]> = [
    ["{print $1}", false],
    ["$3 > 1000 {print $1}", false],
    ["NR==1 || /x|y/ {print}", false],
    ['{ printf("%s\\n", $1 > 2 ? "a" : "b") }', false],
    ["{sum+=$2} END {print sum/NR}", false],
    ['{ s = "a|b" } END { print s }', false],
    ['{print > "/dev/stderr"}', false],
    ["# system(\n{print}", false],
    ['BEGIN { system("id") }', true, { commands: ["id"] }],
    ['{ print | "sort" }', true, { commands: ["sort"] }],
    ['BEGIN { "date" | getline d; print d }', true, { commands: ["date"] }],
    ['BEGIN { print "x" |& "cat" }', true],
    ['{ print > "out.txt" }', true, { outputs: ["out.txt"] }],
    ['{ print $1 >> "out.txt" }', true, { outputs: ["out.txt"] }],
    ["{ print $1 > $2 }", true],
    ['BEGIN { while ((getline l < ".env") > 0) print l }', true, { inputs: [".env"] }],
    ['@load "filefuncs"', true],
    ['{ print "unterminated }', true],
  ];
  for (const [program, unsafe, extra] of rows)
    it(`${JSON.stringify(program)} is ${unsafe ? "unsafe" : "safe"}`, () => {
      const s = scanAwk(program);
      assert.equal(awkIsUnsafe(s), unsafe, JSON.stringify(s));
      if (extra?.commands) assert.deepEqual(s.commands, extra.commands);
      if (extra?.outputs) assert.deepEqual(s.outputs, extra.outputs);
      if (extra?.inputs) assert.deepEqual(s.inputs, extra.inputs);
    });
});
