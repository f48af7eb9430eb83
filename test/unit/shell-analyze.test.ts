// Shell command analysis (src/policy/shell): every simple command bash would run, with its words as
// bash would pass them. Each row is one form; the expectation lists the commands found, in order, as
// `<source> <argv as JSON>`, with ` UNRESOLVED` appended when the command must never be allowed.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { analyzeCommand, initShellAnalyzer, MAX_COMMAND_LENGTH } from "../../src/policy/shell/index.js";

function summary(line: string): string[] {
  const a = analyzeCommand(line);
  assert.equal(a.parseError, undefined, `unexpected parse error for ${JSON.stringify(line)}: ${a.parseError}`);
  return a.commands.map((c) => `${c.source} ${JSON.stringify(c.argv)}${c.unresolved ? " UNRESOLVED" : ""}`);
}

function programs(line: string): string[] {
  return analyzeCommand(line).commands.map((c) => c.program);
}

type Row = [line: string, expected: string[]];

function table(rows: Row[]): void {
  for (const [line, expected] of rows) {
    it(JSON.stringify(line), () => assert.deepEqual(summary(line), expected));
  }
}

before(async () => {
  await initShellAnalyzer();
  await initShellAnalyzer(); // idempotent
});

describe("shell analysis: lists, pipelines and compound commands", () => {
  table([
    ["git status", ['top ["git","status"]']],
    ["a; b", ['top ["a"]', 'top ["b"]']],
    ["a && b", ['top ["a"]', 'top ["b"]']],
    ["a || b", ['top ["a"]', 'top ["b"]']],
    ["a & b", ['top ["a"]', 'top ["b"]']],
    ["a | b", ['top ["a"]', 'top ["b"]']],
    ["a |& b", ['top ["a"]', 'top ["b"]']],
    ["a\nb", ['top ["a"]', 'top ["b"]']],
    ["a &&\n b", ['top ["a"]', 'top ["b"]']],
    ["a |\n b", ['top ["a"]', 'top ["b"]']],
    ["! a", ['top ["a"]']],
    ["! ! curl x", ['top ["curl","x"]']],
    ["(a; b)", ['top ["a"]', 'top ["b"]']],
    ["{ a; b; }", ['top ["a"]', 'top ["b"]']],
    ["{ a; } > out", ['top ["a"]']],
    ["f() { curl x; }", ['top ["curl","x"]']],
    ["function f { curl x; }", ['top ["curl","x"]']],
    ["function f() (curl x)", ['top ["curl","x"]']],
    ["if a; then b; elif c; then d; else e; fi", ['top ["a"]', 'top ["b"]', 'top ["c"]', 'top ["d"]', 'top ["e"]']],
    ["while a; do b; done", ['top ["a"]', 'top ["b"]']],
    ["until a; do b; done", ['top ["a"]', 'top ["b"]']],
    ["for f in *.txt; do rm \"$f\"; done", ['top ["rm","$f"]']],
    ["for f in $(ls); do b; done", ['substitution ["ls"]', 'top ["b"]']],
    ["for f; do b; done", ['top ["b"]']],
    ["for ((i=0; i<$(n); i++)); do b; done", ['top [] UNRESOLVED', 'substitution ["n"]', 'top ["b"]']],
    ["select x in a b; do curl; done", ['top ["curl"]']],
    ["case $x in a|b) curl;; (c) wget;& *) rm;;& esac", ['top ["curl"]', 'top ["wget"]', 'top ["rm"]']],
    ["case x in esac", []],
    ["[[ -n $(curl x) && $y == z ]]", ['substitution ["curl","x"]']],
    ["[[ $x =~ ^(a|b)$ ]] && curl", ['top ["curl"]']],
    ["(( x = $(curl y) ))", ['top [] UNRESOLVED', 'substitution ["curl","y"]']],
    ["time (curl x)", ['top ["curl","x"]']],
    ["time -p { curl x; }", ['top ["curl","x"]']],
    ["coproc { curl x; }", ['top ["curl","x"]']],
    ["x[1 2]=3 curl evil", ['top ["curl","evil"]']],
    ["a[1]=2", ['top []']],
    ["a[$(curl x) ]=1", ['top [] UNRESOLVED', 'substitution ["curl","x"]']],
    ["i\\\nf curl x; th\\\nen :; f\\\ni", ['top ["curl","x"]', 'top [":"]']],
    ["echo hi # ; curl x", ['top ["echo","hi"]']],
    ["echo hi#; curl x", ['top ["echo","hi#"]', 'top ["curl","x"]']],
  ]);
});

describe("shell analysis: substitutions", () => {
  table([
    ['echo "$(curl x)"', ['top ["echo","$(curl x)"]', 'substitution ["curl","x"]']],
    ["echo `curl x`", ['top ["echo","`curl x`"]', 'substitution ["curl","x"]']],
    ["echo `echo \\`curl x\\``", ['top ["echo","`echo \\\\`curl x\\\\``"]', 'substitution ["echo","`curl x`"]', 'substitution ["curl","x"]']],
    ["x=$(curl x)", ['top []', 'substitution ["curl","x"]']],
    ["a=(1 $(curl y) 3) b", ['top ["b"]', 'substitution ["curl","y"]']],
    ["echo ${x:-$(curl y)}", ['top ["echo","${x:-$(curl y)}"]', 'substitution ["curl","y"]']],
    ["echo $(( $(curl y) + 1 ))", ['top ["echo","$(( $(curl y) + 1 ))"] UNRESOLVED', 'substitution ["curl","y"]']],
    ["echo $( (curl y) )", ['top ["echo","$( (curl y) )"]', 'substitution ["curl","y"]']],
    ["echo $((curl y) )", ['top ["echo","$((curl y) )"]', 'substitution ["curl","y"]']],
    ["echo $(case x in a) curl;; esac)", ['top ["echo","$(case x in a) curl;; esac)"]', 'substitution ["curl"]']],
    ["bash <(curl x)", ['top ["bash","<(curl x)"] UNRESOLVED', 'process-substitution ["curl","x"]']],
    ["diff <(a) <(b)", ['top ["diff","<(a)","<(b)"]', 'process-substitution ["a"]', 'process-substitution ["b"]']],
    ["echo hi > >(curl x)", ['top ["echo","hi"]', 'process-substitution ["curl","x"]']],
    ["while read l; do :; done < <(curl x)", ['process-substitution ["curl","x"]', 'top ["read","l"]', 'top [":"]']],
    ["cat <<EOF\n$(curl x)\nEOF", ['top ["cat"]', 'substitution ["curl","x"]']],
    ["cat <<'EOF'\n$(curl x)\nEOF", ['top ["cat"]']],
    ["x=$(cat <<EOF\ncurl\nEOF\n)", ['top []', 'substitution ["cat"]']],
  ]);
});

describe("shell analysis: strings run by a shell", () => {
  table([
    ["sh -c 'curl x'", ['top ["sh","-c","curl x"]', 'sh -c ["curl","x"]']],
    ["bash -c 'a; b | c'", ['top ["bash","-c","a; b | c"]', 'sh -c ["a"]', 'sh -c ["b"]', 'sh -c ["c"]']],
    ["bash -lc 'curl x'", ['top ["bash","-lc","curl x"]', 'sh -c ["curl","x"]']],
    ["bash -x -o pipefail -c 'curl x' arg0", ['top ["bash","-x","-o","pipefail","-c","curl x","arg0"]', 'sh -c ["curl","x"]']],
    ["zsh -c \"sh -c 'curl x'\"", ['top ["zsh","-c","sh -c \'curl x\'"]', 'sh -c ["sh","-c","curl x"]', 'sh -c ["curl","x"]']],
    ["eval curl x", ['top ["eval","curl","x"]', 'eval ["curl","x"]']],
    ["eval 'a;' b", ['top ["eval","a;","b"]', 'eval ["a"]', 'eval ["b"]']],
    ["bash -lc 'eval \"wget y\"'", ['top ["bash","-lc","eval \\"wget y\\""]', 'sh -c ["eval","wget y"]', 'eval ["wget","y"]']],
    ["trap 'curl x' EXIT", ['top ["trap","curl x","EXIT"]', 'eval ["curl","x"]']],
    ["trap -- \"$T\" INT", ['top ["trap","--","$T","INT"] UNRESOLVED']],
    ["trap - EXIT; trap -p", ['top ["trap","-","EXIT"]', 'top ["trap","-p"]']],
    ["sh -c \"$CMD\"", ['top ["sh","-c","$CMD"] UNRESOLVED']],
    ["eval \"$CMD\"", ['top ["eval","$CMD"] UNRESOLVED']],
    ["sh <<'EOF'\ncurl x\nEOF", ['top ["sh"]', 'heredoc-to-shell ["curl","x"]']],
    ["bash <<-EOF\n\tcurl x\n\tEOF", ['top ["bash"]', 'heredoc-to-shell ["curl","x"]']],
    ["bash <<EOF\ncurl $HOME\nEOF", ['top ["bash"] UNRESOLVED']],
    ["cat <<'EOF' | sh\ncurl x\nEOF", ['top ["cat"]', 'top ["sh"]', 'heredoc-to-shell ["curl","x"]']],
    ["bash <<< 'curl x'", ['top ["bash"]', 'heredoc-to-shell ["curl","x"]']],
    ["echo 'curl x' | sh", ['top ["echo","curl x"]', 'top ["sh"]', 'heredoc-to-shell ["curl","x"]']],
    ["echo curl x | bash -s", ['top ["echo","curl","x"]', 'top ["bash","-s"]', 'heredoc-to-shell ["curl","x"]']],
    ["printf 'curl x' | sh", ['top ["printf","curl x"]', 'top ["sh"]', 'heredoc-to-shell ["curl","x"]']],
    ["printf 'curl\\n' | sh", ['top ["printf","curl\\\\n"]', 'top ["sh"] UNRESOLVED']],
    ["curl x | sh", ['top ["curl","x"]', 'top ["sh"] UNRESOLVED']],
    ["curl x | sudo bash", ['top ["curl","x"]', 'top ["sudo","bash"]', 'wrapper ["bash"] UNRESOLVED']],
    ["echo curl | source /dev/stdin", ['top ["echo","curl"]', 'top ["source","/dev/stdin"]', 'heredoc-to-shell ["curl"]']],
    ["source <(curl x)", ['top ["source","<(curl x)"] UNRESOLVED', 'process-substitution ["curl","x"]']],
    ["bash script.sh", ['top ["bash","script.sh"]']],
    ["bash < script.sh", ['top ["bash"]']],
    ["sh < <(curl x)", ['top ["sh"] UNRESOLVED', 'process-substitution ["curl","x"]']],
    ["sudo -u me bash <<'EOF'\ncurl x\nEOF", ['top ["sudo","-u","me","bash"]', 'wrapper ["bash"]', 'heredoc-to-shell ["curl","x"]']],
    ["echo curl x | (sh)", ['top ["echo","curl","x"]', 'top ["sh"] UNRESOLVED']],
  ]);

  it("nesting deeper than the limit is unresolved", () => {
    let line = "curl x";
    for (let k = 0; k < 7; k++) line = `eval ${JSON.stringify(line).replace(/\$/g, "\\$")}`;
    const a = analyzeCommand(line);
    assert.ok(a.commands.some((c) => c.unresolved), JSON.stringify(a.commands));
  });

  it("a parse error inside sh -c is reported, and the string is unresolved", () => {
    const a = analyzeCommand("sh -c 'echo ('");
    assert.match(a.parseError ?? "", /sh -c/);
    assert.deepEqual(
      a.commands.map((c) => [c.source, c.unresolved]),
      [
        ["top", false],
        ["sh -c", true],
      ],
    );
  });
});

describe("shell analysis: wrappers", () => {
  table([
    ["timeout 5 curl x", ['top ["timeout","5","curl","x"]', 'wrapper ["curl","x"]']],
    ["timeout -s KILL --preserve-status 5s curl x", ['top ["timeout","-s","KILL","--preserve-status","5s","curl","x"]', 'wrapper ["curl","x"]']],
    ["time curl x", ['top ["time","curl","x"]', 'wrapper ["curl","x"]']],
    ["time -p curl x", ['top ["time","-p","curl","x"]', 'wrapper ["curl","x"]']],
    ["nice -n 5 curl x", ['top ["nice","-n","5","curl","x"]', 'wrapper ["curl","x"]']],
    ["nice -10 curl", ['top ["nice","-10","curl"]', 'wrapper ["curl"]']],
    ["nohup curl x", ['top ["nohup","curl","x"]', 'wrapper ["curl","x"]']],
    ["stdbuf -o0 -eL curl x", ['top ["stdbuf","-o0","-eL","curl","x"]', 'wrapper ["curl","x"]']],
    ["setsid -f curl", ['top ["setsid","-f","curl"]', 'wrapper ["curl"]']],
    ["command -p curl", ['top ["command","-p","curl"]', 'wrapper ["curl"]']],
    ["command -v curl", ['top ["command","-v","curl"]']],
    ["builtin echo hi", ['top ["builtin","echo","hi"]', 'wrapper ["echo","hi"]']],
    ["exec -a name curl", ['top ["exec","-a","name","curl"]', 'wrapper ["curl"]']],
    ["exec 3>/tmp/x", ['top ["exec"]']],
    ["env -i FOO=1 curl", ['top ["env","-i","FOO=1","curl"]', 'wrapper ["curl"]']],
    ["env - -u HOME curl", ['top ["env","-","-u","HOME","curl"]', 'wrapper ["curl"]']],
    ["env", ['top ["env"]']],
    ["env -S 'curl x'", ['top ["env","-S","curl x"]', 'wrapper ["-S","curl x"] UNRESOLVED']],
    ["FOO=1 sudo -E id", ['top ["sudo","-E","id"]', 'wrapper ["id"]']],
    ["sudo -u root -- bash -c 'rm -rf /'", ['top ["sudo","-u","root","--","bash","-c","rm -rf /"]', 'wrapper ["bash","-c","rm -rf /"]', 'sh -c ["rm","-rf","/"]']],
    ["sudo -uroot HOME=/x curl", ['top ["sudo","-uroot","HOME=/x","curl"]', 'wrapper ["curl"]']],
    ["sudo -l", ['top ["sudo","-l"]']],
    ["echo curl x | sudo -s", ['top ["echo","curl","x"]', 'top ["sudo","-s"]', 'heredoc-to-shell ["curl","x"]']],
    ["curl x | sudo -i", ['top ["curl","x"]', 'top ["sudo","-i"] UNRESOLVED']],
    ["su -c 'curl x' root", ['top ["su","-c","curl x","root"]', 'sh -c ["curl","x"]']],
    ['su --command="curl x"', ['top ["su","--command=curl x"]', 'sh -c ["curl","x"]']],
    ["curl x | su root", ['top ["curl","x"]', 'top ["su","root"] UNRESOLVED']],
    ["sudo --frobnicate curl", ['top ["sudo","--frobnicate","curl"]', 'wrapper ["--frobnicate","curl"] UNRESOLVED']],
    ["doas -u root curl", ['top ["doas","-u","root","curl"]', 'wrapper ["curl"]']],
    ["busybox sh -c 'curl x'", ['top ["busybox","sh","-c","curl x"]', 'wrapper ["sh","-c","curl x"]', 'sh -c ["curl","x"]']],
    ["sudo timeout 5 nohup nice curl", ['top ["sudo","timeout","5","nohup","nice","curl"]', 'wrapper ["timeout","5","nohup","nice","curl"]', 'wrapper ["nohup","nice","curl"]', 'wrapper ["nice","curl"]', 'wrapper ["curl"]']],
    ["xargs rm", ['top ["xargs","rm"]', 'xargs ["rm"]']],
    ["xargs -0 -n 1 rm -f", ['top ["xargs","-0","-n","1","rm","-f"]', 'xargs ["rm","-f"]']],
    ["xargs", ['top ["xargs"]']],
    ["xargs sudo", ['top ["xargs","sudo"]', 'xargs ["sudo"] UNRESOLVED']],
    ["xargs sh", ['top ["xargs","sh"]', 'xargs ["sh"] UNRESOLVED']],
    ["xargs -I{} sh -c {}", ['top ["xargs","-I{}","sh","-c","{}"]', 'xargs ["sh","-c","{}"] UNRESOLVED']],
    ["xargs -I % % x", ['top ["xargs","-I","%","%","x"]', 'xargs ["%","x"] UNRESOLVED']],
    ["xargs sh -c 'curl \"$1\"' _", ['top ["xargs","sh","-c","curl \\"$1\\"","_"]', 'xargs ["sh","-c","curl \\"$1\\"","_"]', 'sh -c ["curl","$1"]']],
    ["find . -exec cat {} \\;", ['top ["find",".","-exec","cat","{}",";"]', 'find -exec ["cat","{}"]']],
    ["find . -execdir rm {} + -ok mv {} /t ';'", ['top ["find",".","-execdir","rm","{}","+","-ok","mv","{}","/t",";"]', 'find -exec ["rm","{}"]', 'find -exec ["mv","{}","/t"]']],
    ["find . -exec sh -c 'curl $0' {} \\;", ['top ["find",".","-exec","sh","-c","curl $0","{}",";"]', 'find -exec ["sh","-c","curl $0","{}"]', 'sh -c ["curl","$0"]']],
  ]);

  it("a chain of more than 16 wrappers is unresolved", () => {
    const a = analyzeCommand(`${"nice ".repeat(17)}curl`);
    assert.deepEqual([a.commands.length, a.commands.at(-1)?.unresolved, a.commands.at(-1)?.argv], [18, true, ["curl"]]);
    assert.equal(analyzeCommand(`${"nice ".repeat(16)}curl`).commands.at(-1)?.unresolved, false);
  });

  it("program is the wrapped command's basename, assignments follow env/sudo", () => {
    const a = analyzeCommand("FOO=1 env BAR=2 /usr/bin/curl x");
    assert.deepEqual(
      a.commands.map((c) => [c.program, c.assignments]),
      [
        ["env", ["FOO=1"]],
        ["curl", ["BAR=2"]],
      ],
    );
  });
});

describe("shell analysis: words as bash passes them", () => {
  table([
    ["$'\\x63url' x", ['top ["curl","x"]']],
    ["$'\\143url'", ['top ["curl"]']],
    ["$'\\u0063url'", ['top ["curl"]']],
    ["$'cu\\0rl' x", ['top ["cu","x"]']],
    ["$'\\cA'", ['top ["\\u0001"]']],
    ["c''url x", ['top ["curl","x"]']],
    ['c""url x', ['top ["curl","x"]']],
    ["\\curl x", ['top ["curl","x"]']],
    ["s\\udo id", ['top ["sudo","id"]', 'wrapper ["id"]']],
    ["r''m -rf /", ['top ["rm","-rf","/"]']],
    ["cu\\\nrl x", ['top ["curl","x"]']],
    ['echo "a\\\nb"', ['top ["echo","ab"]']],
    ["echo 'a\\\nb'", ['top ["echo","a\\\\\\nb"]']],
    ['echo "a\\$b\\"c\\d"', ['top ["echo","a$b\\"c\\\\d"]']],
    ['echo $"x"', ['top ["echo","x"]']],
    ["{curl,-s,x}", ['top ["curl","-s","x"]']],
    ["c{url,at} x", ['top ["curl","cat","x"]']],
    ["echo x{1..3}", ['top ["echo","x1","x2","x3"]']],
    ["echo {a..c}{,.bak}", ['top ["echo","a","a.bak","b","b.bak","c","c.bak"]']],
    ["echo {01..03} {5..1..2}", ['top ["echo","01","02","03","5","3","1"]']],
    ["echo '{a,b}' \\{a,b} {a}", ['top ["echo","{a,b}","{a,b}","{a}"]']],
    ["echo {a{b,c}", ['top ["echo","{ab","{ac"]']],
    ["echo ~ ~/x", ['top ["echo","~","~/x"]']],
    ["a\\ b", ['top ["a b"]']],
  ]);

  it("more than 64 brace results is unresolved", () => {
    const a = analyzeCommand("echo {a..z}{a..z}");
    assert.equal(a.commands[0]?.unresolved, true);
  });

  it("/usr/bin/curl and ./curl have program curl; case is kept", () => {
    assert.deepEqual(programs("/usr/bin/curl x; ./curl; ../bin/curl; CURL"), ["curl", "curl", "curl", "CURL"]);
  });

  it("dynamic arguments are kept as text and indexed", () => {
    const c = analyzeCommand('rm -rf "$HOME"/x *.txt ok').commands[0];
    assert.deepEqual([c?.argv, c?.dynamicArgs, c?.unresolved], [["rm", "-rf", "$HOME/x", "*.txt", "ok"], [2, 3], false]);
  });

  it("quoted glob characters are static", () => {
    assert.deepEqual(analyzeCommand("grep '*' \\? \"[a]\"").commands[0]?.dynamicArgs, []);
  });

  it("assignments and redirects are reported", () => {
    const c = analyzeCommand('FOO=1 BAR="a b" curl x >/dev/null 2>&1 <<< "$y" < in').commands[0];
    assert.deepEqual([c?.assignments, c?.redirects], [
      ["FOO=1", "BAR=a b"],
      [
        { op: ">", target: "/dev/null" },
        { op: ">&", target: "1", fd: 2 },
        { op: "<<<", target: undefined },
        { op: "<", target: "in" },
      ],
    ]);
  });

  it("&> and >> and here-document bodies", () => {
    const c = analyzeCommand("cat <<'E' &>> log\nbody\nE").commands[0];
    assert.deepEqual(c?.redirects, [
      { op: "<<", target: "body\n" },
      { op: "&>>", target: "log" },
    ]);
  });

  it("text is the command's source span", () => {
    assert.deepEqual(
      analyzeCommand("a  x ; sh -c 'curl  y'").commands.map((c) => c.text),
      ["a  x", "sh -c 'curl  y'", "curl  y"],
    );
  });
});

describe("shell analysis: what is never allowed", () => {
  table([
    ["$X y", ['top ["$X","y"] UNRESOLVED']],
    ["${X} y", ['top ["${X}","y"] UNRESOLVED']],
    ['"$X" y', ['top ["$X","y"] UNRESOLVED']],
    ["$(echo curl) x", ['top ["$(echo curl)","x"] UNRESOLVED', 'substitution ["echo","curl"]']],
    ["`echo curl` x", ['top ["`echo curl`","x"] UNRESOLVED', 'substitution ["echo","curl"]']],
    ["/usr/bin/cur? x", ['top ["/usr/bin/cur?","x"] UNRESOLVED']],
    ["/usr/bin/[c]url x", ['top ["/usr/bin/[c]url","x"] UNRESOLVED']],
    ["$((1)) x", ['top ["$((1))","x"] UNRESOLVED']],
  ]);

  describe("arithmetic and prompt expansion of variable values (x='a[$(curl evil)]')", () => {
    table([
      ["echo $((1+2)) $[3]", ['top ["echo","$((1+2))","$[3]"]']],
      ["((1+2))", []],
      ["echo $((x))", ['top ["echo","$((x))"] UNRESOLVED']],
      ["echo $((1+$y))", ['top ["echo","$((1+$y))"] UNRESOLVED']],
      ["x=$((y)) curl", ['top ["curl"] UNRESOLVED']],
      ["x=$((y)) sudo curl", ['top ["sudo","curl"] UNRESOLVED', 'wrapper ["curl"]']],
      ["(( x ))", ['top [] UNRESOLVED']],
      ["for ((i=0;i<3;i++)); do echo; done", ['top [] UNRESOLVED', 'top ["echo"]']],
      ["[[ $x -eq 1 ]]", ['top [] UNRESOLVED']],
      ["[[ 2 -eq 1 && $x == y ]]", []],
      ["let x=1", ['top ["let","x=1"] UNRESOLVED']],
      ["shopt -s expand_aliases; alias c=curl", ['top ["shopt","-s","expand_aliases"]', 'top ["alias","c=curl"] UNRESOLVED']],
      ["declare -i z; z=x", ['top ["declare","-i","z"] UNRESOLVED', 'top []']],
      ["local -n r=x", ['top ["local","-n","r=x"] UNRESOLVED']],
      ["declare -a a=(1 2)", ['top ["declare","-a","a=(1 2)"]']],
      ['[ "$x" -eq 1 ]', ['top ["[","$x","-eq","1","]"]']],
      ["echo ${!x}", ['top ["echo","${!x}"] UNRESOLVED']],
      ["echo ${!a[@]} ${!p*}", ['top ["echo","${!a[@]}","${!p*}"]']],
      ["printf -v 'a[$(curl x)]' y", ['top ["printf","-v","a[$(curl x)]","y"] UNRESOLVED']],
      ["read 'a[`curl x`]'", ['top ["read","a[`curl x`]"] UNRESOLVED']],
      ["test -v 'a[$(curl x)]'", ['top ["test","-v","a[$(curl x)]"] UNRESOLVED']],
      ["declare 'a[$(curl x)]=1'", ['top ["declare","a[$(curl x)]=1"] UNRESOLVED']],
      ["[[ -v 'a[$(curl x)]' ]]", ['top [] UNRESOLVED']],
      ["printf '%s[$x]' y", ['top ["printf","%s[$x]","y"]']],
      ["echo ${x@P}", ['top ["echo","${x@P}"] UNRESOLVED']],
      ["echo ${a[i]}", ['top ["echo","${a[i]}"] UNRESOLVED']],
      ["echo ${a[1]} ${a[@]} ${#a[*]}", ['top ["echo","${a[1]}","${a[@]}","${#a[*]}"]']],
      ["echo ${s:x}", ['top ["echo","${s:x}"] UNRESOLVED']],
      ["echo ${s:1:2} ${s:-x} ${s: -1} ${s:=a}", ['top ["echo","${s:1:2}","${s:-x}","${s: -1}","${s:=a}"]']],
    ]);
  });

  const errors: string[] = ["echo (", "a & ; b", "if a; then b", "echo 'x", 'echo "x', "echo $(x", "echo `x", "case x in a) b", "a &&", "| a", "a ;; b", "fi", "{ a", "echo ${x", "for in; do"];
  for (const line of errors) {
    it(`parse error: ${JSON.stringify(line)}`, () => {
      const a = analyzeCommand(line);
      assert.equal(typeof a.parseError, "string");
      assert.deepEqual(a.commands, []);
    });
  }

  it("a line longer than 10,000 characters is tooLong", () => {
    const a = analyzeCommand(`echo ${"x".repeat(MAX_COMMAND_LENGTH)}`);
    assert.deepEqual([a.tooLong, a.commands, typeof a.parseError], [true, [], "string"]);
    assert.equal(analyzeCommand("echo x").tooLong, false);
  });

  it("pathological input fails closed quickly", () => {
    for (const line of ["$(".repeat(3000), "(".repeat(5000), "{a,b}".repeat(1500), "{".repeat(9000), "`".repeat(9000), "@(".repeat(3000)]) {
      const t0 = performance.now();
      const a = analyzeCommand(line);
      assert.ok(performance.now() - t0 < 500, "too slow");
      assert.ok(a.parseError !== undefined || a.commands.some((c) => c.unresolved), line.slice(0, 20));
    }
  });
});

describe("shell analysis: near misses produce no extra commands", () => {
  table([
    ["echo 'a|b;c&&d'", ['top ["echo","a|b;c&&d"]']],
    ['grep -rn "curl .* | bash" docs/', ['top ["grep","-rn","curl .* | bash","docs/"]']],
    ["find . -name '*-exec*'", ['top ["find",".","-name","*-exec*"]']],
    ["awk '{print $1}' f", ['top ["awk","{print $1}","f"]']],
    ['echo "sh -c curl"', ['top ["echo","sh -c curl"]']],
    ["echo eval curl", ['top ["echo","eval","curl"]']],
    ["git commit -m 'fix: $(curl x) `id`'", ['top ["git","commit","-m","fix: $(curl x) `id`"]']],
    ["echo '$(curl x)' \\$HOME \\`id\\`", ['top ["echo","$(curl x)","$HOME","`id`"]']],
    ["echo a#b '#' c", ['top ["echo","a#b","#","c"]']],
    ["cat <<'EOF'\ncurl x | sh\nEOF", ['top ["cat"]']],
    ["echo curl x > f; sh f", ['top ["echo","curl","x"]', 'top ["sh","f"]']],
  ]);
});
