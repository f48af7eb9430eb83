/**
 * A recursive-descent parser for the bash command language (POSIX shell grammar plus the bash
 * extensions an agent is likely to use: `[[ ]]`, `(( ))`, `$'...'`, `<(...)`, `|&`, `&>`, `<<<`,
 * `function`, arrays in assignments, extended globs).
 *
 * Why our own parser and not a library: the candidates were checked on 2026-11-22.
 * - `sh-syntax` (mvdan/sh in WASM) serialises its AST to JSON without node types (a command comes
 *   back as `{}`), instantiates a fresh Go runtime per call (~20 ms) and is async only.
 * - `tree-sitter-bash` (via web-tree-sitter / `@vscode/tree-sitter-wasm`) is error-tolerant and not
 *   faithful to bash where it matters for a security decision: `ec\<newline>ho` comes back as two
 *   words `ec` and `ho`, `{curl,-s,x}` as argv0 is an ERROR node, a `<<<` after `2>&1` is an ERROR.
 *   A deny rule for `curl` would not see `cu\<newline>rl`.
 * So this parser follows bash's own tokenisation rules (the same order of quote, escape and
 * expansion recognition as bash's `read_token`), is synchronous, has no dependency, and is tested
 * form by form in test/unit/shell-parser.test.ts and shell-analyze.test.ts.
 *
 * It is strict: anything it does not understand is a `ShellSyntaxError`, never a guess.
 */
import type { CommandNode, CompoundNode, HereDoc, Pipeline, Program, Redirect, SimpleNode, Word, WordPart } from "./ast.js";
import { decodeAnsiC } from "./words.js";

export class ShellSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset})`);
    this.name = "ShellSyntaxError";
  }
}

/** Maximum nesting of programs (substitutions, subshells, compound commands) in one parse. */
const MAX_NESTING = 64;

const RESERVED = new Set(["if", "then", "elif", "else", "fi", "do", "done", "case", "esac", "while", "until", "for", "select", "in", "function", "{", "}", "[[", "]]", "!", "time", "coproc"]);
/** Builtins whose `name=(...)` arguments are array assignments. */
const DECLARATION = new Set(["declare", "typeset", "local", "export", "readonly"]);
const NEVER_A_COMMAND = new Set(["then", "elif", "else", "fi", "do", "done", "esac", "in", "}", "]]"]);

const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=/;
const ARRAY_ASSIGNMENT_HEAD = /^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=$/;

function isBlank(c: string): boolean {
  return c === " " || c === "\t";
}

/** Characters that end an unquoted word (bash's shell metacharacters), or end of input. */
function isMeta(c: string): boolean {
  return c === "" || c === " " || c === "\t" || c === "\n" || c === ";" || c === "&" || c === "|" || c === "<" || c === ">" || c === "(" || c === ")";
}

interface PendingHereDoc {
  doc: HereDoc;
}

interface WordMode {
  /** The word may be an assignment with an array value: `a=(x y)`. */
  assignPos?: boolean;
  /** Inside `[[ ]]` after `=~`: parentheses and `|` belong to the regular expression. */
  regex?: boolean;
}

export class Parser {
  private i = 0;
  private pending: PendingHereDoc[] = [];
  private nesting = 0;

  constructor(
    private readonly s: string,
    private readonly outerNesting = 0,
  ) {}

  /** Parses the whole input as a program; throws ShellSyntaxError. */
  parseAll(): Program {
    this.nesting = this.outerNesting;
    const prog = this.parseProgram(new Set(), false);
    this.skipNewlines();
    if (this.i < this.s.length) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
    this.finishPendingHereDocs();
    return prog;
  }

  // ---------------------------------------------------------------- low level

  private ch(o = 0): string {
    return this.s[this.i + o] ?? "";
  }

  private at(tok: string): boolean {
    return this.s.startsWith(tok, this.i);
  }

  private fail(message: string, offset = this.i): never {
    throw new ShellSyntaxError(message, offset);
  }

  private tokenAt(): string {
    const m = /^(;;&|;;|;&|&&|\|\||\|&|[;&|()<>]|[^\s;&|()<>]+|\n)/.exec(this.s.slice(this.i, this.i + 40));
    return m ? (m[0] === "\n" ? "newline" : m[0]) : "end of input";
  }

  /** Blanks, backslash-newline continuations and comments (a `#` starting a word). */
  private skipBlanks(): void {
    for (;;) {
      const c = this.ch();
      if (isBlank(c)) this.i++;
      else if (c === "\\" && this.ch(1) === "\n") this.i += 2;
      else if (c === "#") {
        while (this.i < this.s.length && this.ch() !== "\n") this.i++;
      } else return;
    }
  }

  private newline(): void {
    this.i++; // the "\n"
    if (this.pending.length > 0) this.readHereDocBodies();
  }

  private skipNewlines(): void {
    for (;;) {
      this.skipBlanks();
      if (this.ch() === "\n") this.newline();
      else return;
    }
  }

  /**
   * The end offset of the reserved word `w` at the cursor (followed by a metacharacter or end),
   * or -1. Bash removes backslash-newline before it splits words, so `th\<newline>en` is `then`.
   */
  private reservedEnd(w: string): number {
    let j = this.i;
    for (let k = 0; k < w.length; k++) {
      while (this.s[j] === "\\" && this.s[j + 1] === "\n") j += 2;
      if (this.s[j] !== w[k]) return -1;
      j++;
    }
    while (this.s[j] === "\\" && this.s[j + 1] === "\n") j += 2;
    return isMeta(this.s[j] ?? "") ? j : -1;
  }

  /** True when the reserved word `w` is at the cursor. */
  private atReserved(w: string): boolean {
    return this.reservedEnd(w) >= 0;
  }

  /** Consumes the reserved word `w`, which must be at the cursor. */
  private take(w: string): void {
    const end = this.reservedEnd(w);
    if (end < 0) this.fail(`expected '${w}' but found '${this.tokenAt()}'`);
    this.i = end;
  }

  private expectReserved(w: string): void {
    this.skipNewlines();
    this.take(w);
  }

  private enter(): void {
    if (++this.nesting > MAX_NESTING) this.fail("nesting too deep");
  }

  private leave(): void {
    this.nesting--;
  }

  // ---------------------------------------------------------------- here-documents

  private readHereDocBodies(): void {
    const docs = this.pending;
    this.pending = [];
    for (const { doc } of docs) {
      const bodyStart = this.i;
      let bodyEnd = this.s.length;
      doc.complete = false;
      while (this.i < this.s.length) {
        const nl = this.s.indexOf("\n", this.i);
        const lineEnd = nl < 0 ? this.s.length : nl;
        let line = this.s.slice(this.i, lineEnd);
        if (doc.stripTabs) line = line.replace(/^\t+/, "");
        if (line === doc.delimiter) {
          bodyEnd = this.i;
          this.i = nl < 0 ? this.s.length : nl + 1;
          doc.complete = true;
          break;
        }
        this.i = nl < 0 ? this.s.length : nl + 1;
      }
      let text = this.s.slice(bodyStart, bodyEnd);
      if (doc.stripTabs) text = text.replace(/^\t+/gm, "");
      doc.body = this.hereDocWord(text, doc.quoted, bodyStart);
    }
  }

  private finishPendingHereDocs(): void {
    for (const { doc } of this.pending) {
      doc.complete = false;
      doc.body = { parts: [], raw: "", start: this.s.length, end: this.s.length };
    }
    this.pending = [];
  }

  private hereDocWord(text: string, quoted: boolean, offset: number): Word {
    if (quoted) return { parts: [{ k: "lit", v: text, quoted: true }], raw: text, start: offset, end: offset + text.length };
    const sub = new Parser(text, this.nesting + 1);
    const parts: WordPart[] = [];
    sub.readDquoteBody(parts, "");
    return { parts, raw: text, start: offset, end: offset + text.length };
  }

  // ---------------------------------------------------------------- lists and pipelines

  private parseProgram(stops: ReadonlySet<string>, closeParen: boolean): Program {
    this.enter();
    const start = this.i;
    const pipelines: Pipeline[] = [];
    let needMore = false;
    for (;;) {
      this.skipNewlines();
      if (this.i >= this.s.length) break;
      if (closeParen && this.ch() === ")") break;
      if (this.at(";;") || this.at(";&")) break;
      if ([...stops].some((w) => this.atReserved(w))) break;
      pipelines.push(this.parsePipeline());
      needMore = false;
      this.skipBlanks();
      if (this.at("&&") || this.at("||")) {
        this.i += 2;
        needMore = true;
        continue;
      }
      if (this.ch() === ";" && this.ch(1) !== ";" && this.ch(1) !== "&") {
        this.i++;
        continue;
      }
      if (this.ch() === "&") {
        this.i++;
        continue;
      }
      if (this.ch() === "\n") continue;
      break;
    }
    if (needMore) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
    this.leave();
    return { pipelines, start, end: this.i };
  }

  private parsePipeline(): Pipeline {
    this.skipBlanks();
    const start = this.i;
    let negated = false;
    while (this.ch() === "!" && isMeta(this.ch(1))) {
      this.i++;
      negated = true;
      this.skipBlanks();
    }
    // bash accepts a lone `!` before the end of a list (`!`, `! ;`, `!<newline>`): nothing runs
    if (negated && (this.ch() === "" || this.ch() === "\n" || (this.ch() === ";" && this.ch(1) !== ";"))) return { cmds: [], start, end: this.i };
    if (this.atReserved("time")) {
      // `time` is a keyword only in front of a pipeline it times; `time cmd` is kept as a simple
      // command so that the analysis treats it like the `time` program (a wrapper).
      const save = this.i;
      this.take("time");
      this.skipBlanks();
      if (this.atReserved("-p")) {
        this.take("-p");
        this.skipBlanks();
      }
      const c = this.ch();
      const keyword = c === "{" || c === "(" || c === "!" || ["if", "while", "until", "for", "select", "case", "[[", "function"].some((w) => this.atReserved(w));
      if (!keyword) this.i = save;
    }
    const cmds: CommandNode[] = [this.parseCommand()];
    for (;;) {
      this.skipBlanks();
      if (this.ch() === "|" && this.ch(1) !== "|") {
        this.i += this.ch(1) === "&" ? 2 : 1;
        this.skipNewlines();
        cmds.push(this.parseCommand());
      } else break;
    }
    return { cmds, start, end: this.i };
  }

  // ---------------------------------------------------------------- commands

  private parseCommand(): CommandNode {
    this.skipBlanks();
    const start = this.i;
    const c = this.ch();
    if (c === "(") {
      if (this.ch(1) === "(") {
        const save = this.i;
        this.i += 2;
        const subs = this.scanExpansion("arith");
        if (subs) return this.finishCompound({ t: "compound", kind: "arith", bodies: [], subs, arith: this.s.slice(start, this.i), words: [], redirs: [], start, end: this.i });
        this.i = save;
      }
      this.i++;
      const body = this.parseProgram(new Set(), true);
      this.skipNewlines();
      if (this.ch() !== ")" || body.pipelines.length === 0) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
      this.i++;
      return this.finishCompound({ t: "compound", kind: "subshell", bodies: [body], subs: [], words: [], redirs: [], start, end: this.i });
    }
    if (this.atReserved("{")) {
      this.take("{");
      const body = this.parseProgram(new Set(["}"]), false);
      if (body.pipelines.length === 0) this.fail("syntax error near unexpected token '}'");
      this.expectReserved("}");
      return this.finishCompound({ t: "compound", kind: "group", bodies: [body], subs: [], words: [], redirs: [], start, end: this.i });
    }
    if (this.atReserved("if")) return this.parseIf(start);
    if (this.atReserved("while") || this.atReserved("until")) {
      const kind = this.atReserved("while") ? "while" : "until";
      this.take(kind);
      const cond = this.parseProgram(new Set(["do"]), false);
      this.expectReserved("do");
      const body = this.parseProgram(new Set(["done"]), false);
      this.expectReserved("done");
      return this.finishCompound({ t: "compound", kind, bodies: [cond, body], subs: [], words: [], redirs: [], start, end: this.i });
    }
    if (this.atReserved("for") || this.atReserved("select")) return this.parseFor(start);
    if (this.atReserved("case")) return this.parseCase(start);
    if (this.atReserved("[[")) return this.parseCond(start);
    if (this.atReserved("function")) {
      this.take("function");
      this.skipBlanks();
      const name = this.readWord({});
      if (!name) this.fail("expected a function name");
      this.skipBlanks();
      if (this.ch() === "(") {
        this.i++;
        this.skipBlanks();
        if (this.ch() !== ")") this.fail("expected ')'");
        this.i++;
      }
      this.skipNewlines();
      const body = this.parseFunctionBody();
      return { t: "compound", kind: "function", bodies: [wrap(body)], subs: [], words: [name], redirs: [], start, end: this.i };
    }
    if (this.atReserved("coproc")) {
      const save = this.i;
      this.take("coproc");
      this.skipBlanks();
      const d = this.ch();
      if (d === "{" || d === "(" || ["if", "while", "until", "for", "select", "case", "[["].some((w) => this.atReserved(w))) {
        const body = this.parseCommand();
        return { t: "compound", kind: "coproc", bodies: [wrap(body)], subs: [], words: [], redirs: [], start, end: this.i };
      }
      this.i = save; // `coproc cmd args`: a simple command; the analysis looks through `coproc`
    }
    for (const w of NEVER_A_COMMAND) if (this.atReserved(w)) this.fail(`syntax error near unexpected token '${w}'`);
    if (this.ch() === "!" && isMeta(this.ch(1))) this.fail("syntax error near unexpected token '!'");
    return this.parseSimple();
  }

  private parseFunctionBody(): CommandNode {
    const body = this.parseCommand();
    if (body.t !== "compound") this.fail("a function body must be a compound command", body.start);
    return body;
  }

  private finishCompound(node: CompoundNode): CompoundNode {
    for (;;) {
      this.skipBlanks();
      const r = this.tryRedirect();
      if (!r) break;
      node.redirs.push(r);
    }
    node.end = this.i;
    return node;
  }

  private parseIf(start: number): CompoundNode {
    this.take("if");
    const bodies: Program[] = [];
    bodies.push(this.parseProgram(new Set(["then"]), false));
    this.expectReserved("then");
    bodies.push(this.parseProgram(new Set(["elif", "else", "fi"]), false));
    for (;;) {
      this.skipNewlines();
      if (this.atReserved("elif")) {
        this.take("elif");
        bodies.push(this.parseProgram(new Set(["then"]), false));
        this.expectReserved("then");
        bodies.push(this.parseProgram(new Set(["elif", "else", "fi"]), false));
        continue;
      }
      if (this.atReserved("else")) {
        this.take("else");
        bodies.push(this.parseProgram(new Set(["fi"]), false));
      }
      this.expectReserved("fi");
      break;
    }
    return this.finishCompound({ t: "compound", kind: "if", bodies, subs: [], words: [], redirs: [], start, end: this.i });
  }

  private parseFor(start: number): CompoundNode {
    const kind = this.atReserved("for") ? "for" : "select";
    this.take(kind);
    this.skipBlanks();
    const words: Word[] = [];
    const bodies: Program[] = [];
    let subs: Program[] = [];
    let arith: string | undefined;
    let variable: string | undefined;
    if (this.at("((")) {
      const a0 = this.i;
      this.i += 2;
      const found = this.scanExpansion("arith");
      if (!found) this.fail("bad arithmetic for loop");
      subs = found;
      arith = this.s.slice(a0, this.i);
      this.skipBlanks();
      if (this.ch() === ";") this.i++;
    } else {
      const name = this.readWord({});
      if (!name) this.fail(`expected a variable name after '${kind}'`);
      this.skipNewlines();
      if (this.atReserved("in")) {
        this.take("in");
        if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name.raw)) variable = name.raw;
        for (;;) {
          this.skipBlanks();
          const c = this.ch();
          if (c === ";" || c === "\n" || c === "") break;
          const w = this.readWord({});
          if (!w) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
          words.push(w);
        }
        if (this.ch() === ";") this.i++;
      } else if (this.ch() === ";") this.i++;
    }
    this.skipNewlines();
    if (this.atReserved("do")) {
      this.take("do");
      bodies.push(this.parseProgram(new Set(["done"]), false));
      this.expectReserved("done");
    } else if (this.atReserved("{")) {
      bodies.push(wrap(this.parseCommand()));
    } else this.fail(`expected 'do' but found '${this.tokenAt()}'`);
    const node: CompoundNode = { t: "compound", kind, bodies, subs, words, redirs: [], start, end: this.i };
    if (arith !== undefined) node.arith = arith;
    if (variable !== undefined) node.variable = variable;
    return this.finishCompound(node);
  }

  private parseCase(start: number): CompoundNode {
    this.take("case");
    this.skipBlanks();
    const subject = this.readWord({});
    if (!subject) this.fail("expected a word after 'case'");
    const words: Word[] = [subject];
    const bodies: Program[] = [];
    this.expectReserved("in");
    for (;;) {
      this.skipNewlines();
      if (this.atReserved("esac")) {
        this.take("esac");
        break;
      }
      if (this.i >= this.s.length) this.fail("expected 'esac'");
      if (this.ch() === "(") this.i++;
      for (;;) {
        this.skipBlanks();
        const p = this.readWord({});
        if (!p) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
        words.push(p);
        this.skipBlanks();
        if (this.ch() === "|") {
          this.i++;
          continue;
        }
        break;
      }
      if (this.ch() !== ")") this.fail("expected ')' after a case pattern");
      this.i++;
      bodies.push(this.parseProgram(new Set(["esac"]), false));
      this.skipBlanks();
      if (this.at(";;&")) this.i += 3;
      else if (this.at(";;") || this.at(";&")) this.i += 2;
    }
    return this.finishCompound({ t: "compound", kind: "case", bodies, subs: [], words, redirs: [], start, end: this.i });
  }

  private parseCond(start: number): CompoundNode {
    this.take("[[");
    const words: Word[] = [];
    let regexNext = false;
    for (;;) {
      this.skipNewlines();
      if (this.i >= this.s.length) this.fail("expected ']]'");
      if (this.atReserved("]]")) {
        this.take("]]");
        break;
      }
      if (this.at("&&") || this.at("||")) {
        this.i += 2;
        continue;
      }
      const c = this.ch();
      if (c === "(" || c === ")" || c === "<" || c === ">" || (c === "!" && isMeta(this.ch(1)))) {
        this.i++;
        continue;
      }
      const w = this.readWord({ regex: regexNext });
      if (!w) this.fail(`syntax error in conditional expression near '${this.tokenAt()}'`);
      words.push(w);
      regexNext = w.raw === "=~";
    }
    return this.finishCompound({ t: "compound", kind: "cond", bodies: [], subs: [], words, redirs: [], start, end: this.i });
  }

  private parseSimple(): CommandNode {
    const start = this.i;
    const assigns: Word[] = [];
    const words: Word[] = [];
    const redirs: Redirect[] = [];
    for (;;) {
      this.skipBlanks();
      const r = this.tryRedirect();
      if (r) {
        redirs.push(r);
        continue;
      }
      const c = this.ch();
      if (c === "" || c === "\n" || c === ";" || c === "&" || c === "|" || c === "(" || c === ")") break;
      const first = words[0];
      const w = this.readWord({ assignPos: first === undefined || (first.parts.length === 1 && DECLARATION.has(first.raw)) });
      if (!w) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
      if (words.length === 0 && isAssignmentWord(w)) {
        assigns.push(w);
        continue;
      }
      words.push(w);
      if (words.length === 1 && assigns.length === 0 && redirs.length === 0) {
        // `name () compound-command`
        const save = this.i;
        this.skipBlanks();
        if (this.ch() === "(") {
          this.i++;
          this.skipBlanks();
          if (this.ch() === ")") {
            this.i++;
            this.skipNewlines();
            const body = this.parseFunctionBody();
            return { t: "compound", kind: "function", bodies: [wrap(body)], subs: [], words: [w], redirs: [], start, end: this.i };
          }
        }
        this.i = save;
      }
    }
    if (assigns.length + words.length + redirs.length === 0) this.fail(`syntax error near unexpected token '${this.tokenAt()}'`);
    let end = this.i;
    while (end > start && /\s/.test(this.s[end - 1] ?? "")) end--;
    const node: SimpleNode = { t: "simple", assigns, words, redirs, start, end, text: this.s.slice(start, end) };
    return node;
  }

  private tryRedirect(): Redirect | undefined {
    const start = this.i;
    let fd: number | undefined;
    let fdVar: string | undefined;
    const digits = /^[0-9]+(?=[<>])/.exec(this.s.slice(this.i, this.i + 12));
    if (digits) {
      fd = Number(digits[0]);
      this.i += digits[0].length;
    } else {
      const v = /^\{([A-Za-z_][A-Za-z0-9_]*)\}(?=[<>])/.exec(this.s.slice(this.i, this.i + 80));
      if (v) {
        fdVar = v[1];
        this.i += v[0].length;
      }
    }
    if ((this.at("<(") || this.at(">(")) && fd === undefined && fdVar === undefined) return undefined;
    const ops = ["<<<", "<<-", "<<", "<>", "<&", "<", ">>", ">&", ">|", ">", "&>>", "&>"];
    const op = ops.find((o) => this.at(o) && !(o.startsWith("&") && (fd !== undefined || fdVar !== undefined)));
    if (!op) {
      this.i = start;
      return undefined;
    }
    this.i += op.length;
    this.skipBlanks();
    const target = this.readWord({});
    if (!target) this.fail(`expected a word after '${op}'`);
    const r: Redirect = { op, target, start, end: this.i };
    if (fd !== undefined) r.fd = fd;
    if (fdVar !== undefined) r.fdVar = fdVar;
    if (op === "<<" || op === "<<-") {
      const quoted = target.parts.some((p) => p.k !== "lit" || p.quoted);
      const delimiter = target.parts.map((p) => (p.k === "lit" ? p.v : p.text)).join("");
      const doc: HereDoc = { delimiter, quoted, stripTabs: op === "<<-", body: { parts: [], raw: "", start: this.i, end: this.i }, complete: false };
      r.heredoc = doc;
      this.pending.push({ doc });
    }
    return r;
  }

  // ---------------------------------------------------------------- words

  /** Reads one word at the cursor (no leading blanks); undefined when there is none. */
  private readWord(mode: WordMode): Word | undefined {
    const start = this.i;
    const parts: WordPart[] = [];
    let depth = 0;
    for (;;) {
      const c = this.ch();
      if (c === "") break;
      if (c === "\\") {
        const n = this.ch(1);
        if (n === "\n") this.i += 2;
        else if (n === "") {
          addLit(parts, "\\", true);
          this.i++;
        } else {
          addLit(parts, n, true);
          this.i += 2;
        }
        continue;
      }
      if (c === "'") {
        const j = this.s.indexOf("'", this.i + 1);
        if (j < 0) this.fail("unterminated single quote");
        addLit(parts, this.s.slice(this.i + 1, j), true);
        this.i = j + 1;
        continue;
      }
      if (c === '"') {
        this.i++;
        this.readDquoteBody(parts, '"');
        continue;
      }
      if (c === "`") {
        parts.push(this.readBackticks(false));
        continue;
      }
      if (c === "$") {
        this.readDollar(parts, false);
        continue;
      }
      if ((c === "<" || c === ">") && this.ch(1) === "(" && !mode.regex) {
        const op = c === "<" ? "<(" : ">(";
        const s0 = this.i;
        this.i += 2;
        const body = this.parseProgram(new Set(), true);
        this.skipNewlines();
        if (this.ch() !== ")") this.fail("expected ')' to close process substitution");
        this.i++;
        parts.push({ k: "procsub", op, text: this.s.slice(s0, this.i), body });
        continue;
      }
      if (mode.regex) {
        if (c === "(") depth++;
        else if (c === ")") {
          if (depth === 0) break;
          depth--;
        } else if ((c === " " || c === "\t" || c === "\n") && depth === 0) break;
        else if ((c === ";" || c === "&") && depth === 0) break;
        addLit(parts, c, false);
        this.i++;
        continue;
      }
      if ("?*+@!".includes(c) && this.ch(1) === "(") {
        addLit(parts, c, false);
        this.i++;
        const s0 = this.i;
        this.skipBalancedParens();
        parts.push({ k: "extglob", text: this.s.slice(s0, this.i) });
        continue;
      }
      if (c === "[" && mode.assignPos && parts.length === 1 && parts[0]?.k === "lit" && !parts[0].quoted && /^[A-Za-z_][A-Za-z0-9_]*$/.test(parts[0].v)) {
        // `name[subscript]` in a position where it may start an assignment: like bash, read to the
        // matching `]` even across blanks (`x[1 2]=3 cmd` is one word, then `cmd` runs).
        const s0 = this.i;
        this.i++;
        const subs = this.scanExpansion("bracket");
        if (!subs) this.fail("unterminated subscript", s0);
        parts.push({ k: "subscript", text: this.s.slice(s0, this.i), subs });
        continue;
      }
      if (c === "(" && mode.assignPos && parts.length === 1 && parts[0]?.k === "lit" && !parts[0].quoted && ARRAY_ASSIGNMENT_HEAD.test(parts[0].v)) {
        const s0 = this.i;
        this.i++;
        const words: Word[] = [];
        for (;;) {
          this.skipNewlines();
          if (this.ch() === ")") {
            this.i++;
            break;
          }
          const w = this.readWord({});
          if (!w) this.fail("unterminated array assignment");
          words.push(w);
        }
        parts.push({ k: "array", text: this.s.slice(s0, this.i), words });
        continue;
      }
      if (isMeta(c)) break;
      addLit(parts, c, false);
      this.i++;
    }
    if (this.i === start) return undefined;
    return { parts, raw: this.s.slice(start, this.i), start, end: this.i };
  }

  private skipBalancedParens(): void {
    let depth = 0;
    for (;;) {
      const c = this.ch();
      if (c === "") this.fail("unterminated extended glob");
      if (c === "\\") {
        this.i += 2;
        continue;
      }
      this.i++;
      if (c === "(") depth++;
      else if (c === ")" && --depth === 0) return;
    }
  }

  /**
   * Reads double-quoted text up to `term` ('"'), or to the end of input when `term` is "" (the body
   * of an unquoted here-document, where `"` is an ordinary character).
   */
  readDquoteBody(parts: WordPart[], term: '"' | ""): void {
    for (;;) {
      const c = this.ch();
      if (c === "") {
        if (term) this.fail("unterminated double quote");
        return;
      }
      if (term && c === term) {
        this.i++;
        return;
      }
      if (c === "\\") {
        const n = this.ch(1);
        if (n === "\n") this.i += 2;
        else if (n === "$" || n === "`" || n === "\\" || (term && n === '"')) {
          addLit(parts, n, true);
          this.i += 2;
        } else {
          addLit(parts, "\\", true);
          this.i++;
        }
        continue;
      }
      if (c === "$") {
        this.readDollar(parts, true);
        continue;
      }
      if (c === "`") {
        parts.push(this.readBackticks(true));
        continue;
      }
      addLit(parts, c, true);
      this.i++;
    }
  }

  private readDollar(parts: WordPart[], inDquote: boolean): void {
    const s0 = this.i;
    const n = this.ch(1);
    if (n === "'" && !inDquote) {
      let j = this.i + 2;
      for (;;) {
        const c = this.s[j];
        if (c === undefined) this.fail("unterminated $'...' string", s0);
        if (c === "\\") j += 2;
        else if (c === "'") break;
        else j++;
      }
      addLit(parts, decodeAnsiC(this.s.slice(this.i + 2, j)), true);
      this.i = j + 1;
      return;
    }
    if (n === '"' && !inDquote) {
      this.i += 2;
      this.readDquoteBody(parts, '"');
      return;
    }
    if (n === "(") {
      if (this.ch(2) === "(") {
        this.i += 3;
        const subs = this.scanExpansion("arith");
        if (subs) {
          parts.push({ k: "arith", text: this.s.slice(s0, this.i), subs });
          return;
        }
        this.i = s0; // `$( (subshell) )`: bash falls back to a command substitution
      }
      this.i += 2;
      const body = this.parseProgram(new Set(), true);
      this.skipNewlines();
      if (this.ch() !== ")") this.fail("expected ')' to close command substitution", s0);
      this.i++;
      parts.push({ k: "cmdsub", text: this.s.slice(s0, this.i), body });
      return;
    }
    if (n === "[") {
      this.i += 2;
      const subs = this.scanExpansion("bracket");
      if (!subs) this.fail("unterminated $[...]", s0);
      parts.push({ k: "arith", text: this.s.slice(s0, this.i), subs });
      return;
    }
    if (n === "{") {
      this.i += 2;
      const subs = this.scanExpansion("brace");
      if (!subs) this.fail("bad substitution: unterminated ${", s0);
      parts.push({ k: "param", text: this.s.slice(s0, this.i), subs });
      return;
    }
    const name = /^([A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!\-])/.exec(this.s.slice(this.i + 1, this.i + 256));
    if (name) {
      this.i += 1 + name[0].length;
      parts.push({ k: "param", text: this.s.slice(s0, this.i), subs: [] });
      return;
    }
    addLit(parts, "$", inDquote);
    this.i++;
  }

  /**
   * Skips the inside of `${...}` (kind "brace"), `$((...))`/`((...))` ("arith", cursor after the
   * opening parentheses) or `$[...]` ("bracket") and returns the command and process substitutions
   * found in it. Returns undefined when an "arith" scan finds a lone `)` (not arithmetic after all).
   */
  private scanExpansion(kind: "brace" | "arith" | "bracket"): Program[] | undefined {
    const subs: Program[] = [];
    let depth = 0;
    this.enter();
    for (;;) {
      const c = this.ch();
      if (c === "") {
        if (kind === "arith") {
          this.leave();
          return undefined;
        }
        this.fail("unterminated expansion");
      }
      if (c === "\\") {
        this.i += 2;
        continue;
      }
      if (c === "'" && kind === "brace") {
        const j = this.s.indexOf("'", this.i + 1);
        if (j < 0) this.fail("unterminated single quote");
        this.i = j + 1;
        continue;
      }
      if (c === '"' || c === "`" || c === "$" || ((c === "<" || c === ">") && this.ch(1) === "(" && kind === "brace")) {
        const tmp: WordPart[] = [];
        if (c === '"') {
          this.i++;
          this.readDquoteBody(tmp, '"');
        } else if (c === "`") tmp.push(this.readBackticks(false));
        else if (c === "$") this.readDollar(tmp, false);
        else {
          const w = this.readWord({});
          if (w) tmp.push(...w.parts);
        }
        subs.push(...subsOfParts(tmp));
        continue;
      }
      this.i++;
      if (kind === "brace") {
        if (c === "{") depth++;
        else if (c === "}") {
          if (depth === 0) break;
          depth--;
        }
      } else if (kind === "bracket") {
        if (c === "[") depth++;
        else if (c === "]") {
          if (depth === 0) break;
          depth--;
        }
      } else {
        if (c === "(") depth++;
        else if (c === ")") {
          if (depth > 0) depth--;
          else if (this.ch() === ")") {
            this.i++;
            break;
          } else {
            this.leave();
            return undefined;
          }
        }
      }
    }
    this.leave();
    return subs;
  }

  private readBackticks(inDquote: boolean): WordPart {
    const s0 = this.i;
    let j = this.i + 1;
    let inner = "";
    for (;;) {
      const c = this.s[j];
      if (c === undefined) this.fail("unterminated backquote", s0);
      if (c === "\\") {
        const n = this.s[j + 1] ?? "";
        if (n === "$" || n === "`" || n === "\\" || (inDquote && n === '"')) {
          inner += n;
          j += 2;
          continue;
        }
        inner += c;
        j++;
        continue;
      }
      if (c === "`") break;
      inner += c;
      j++;
    }
    this.i = j + 1;
    const body = new Parser(inner, this.nesting + 1).parseAll();
    return { k: "cmdsub", text: this.s.slice(s0, this.i), body };
  }
}

function addLit(parts: WordPart[], v: string, quoted: boolean): void {
  const last = parts[parts.length - 1];
  if (last && last.k === "lit" && last.quoted === quoted) last.v += v;
  else parts.push({ k: "lit", v, quoted });
}

function wrap(cmd: CommandNode): Program {
  return { pipelines: [{ cmds: [cmd], start: cmd.start, end: cmd.end }], start: cmd.start, end: cmd.end };
}

/** `NAME=...`, `NAME+=...`, `NAME[i]=...` written unquoted at the start of the word. */
export function isAssignmentWord(w: Word): boolean {
  const first = w.parts[0];
  if (first === undefined || first.k !== "lit" || first.quoted) return false;
  const second = w.parts[1];
  if (second?.k === "subscript" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(first.v)) {
    const third = w.parts[2];
    return third !== undefined && third.k === "lit" && !third.quoted && /^\+?=/.test(third.v);
  }
  return ASSIGNMENT.test(first.v);
}

/** The programs run by the substitutions inside word parts (not descending into those programs). */
export function subsOfParts(parts: readonly WordPart[]): Program[] {
  const out: Program[] = [];
  for (const p of parts) {
    if (p.k === "cmdsub" || p.k === "procsub") out.push(p.body);
    else if (p.k === "param" || p.k === "arith" || p.k === "subscript") out.push(...p.subs);
    else if (p.k === "array") for (const w of p.words) out.push(...subsOfParts(w.parts));
  }
  return out;
}

export function parseShell(line: string, nesting = 0): Program {
  return new Parser(line, nesting).parseAll();
}

export { RESERVED };
