// A reader of awk programs, only as far as the Bash judge needs: does the program run commands
// (`system()`, pipes to or from a command, gawk's `|&`), write files (`print > "f"`), read files
// (`getline < "f"`) or load code (`@load`, `@include`)? It tokenizes strings, regex literals and
// comments so that `"a|b"` or `/x|y/` are not mistaken for pipes. Anything it cannot tokenize makes
// the program "unparsed", which the judge treats like a program that runs commands (fail closed).

export interface AwkScan {
  system: boolean;
  pipe: boolean;
  /** `>`/`>>` output redirection of print/printf. */
  output: boolean;
  /** `getline < file`. */
  getlineFile: boolean;
  /** `@load` / `@include`. */
  load: boolean;
  /** Static command strings given to system() or a pipe. */
  commands: string[];
  /** Static file names after `>`/`>>`. */
  outputs: string[];
  /** Static file names after `getline <`. */
  inputs: string[];
  unparsed?: string;
}

type Tok = { t: "str"; v: string } | { t: "id"; v: string } | { t: "num" } | { t: "re" } | { t: "op"; v: string } | { t: "nl" };

function tokenize(src: string): Tok[] | string {
  const toks: Tok[] = [];
  let i = 0;
  /** A `/` starts a regex unless it follows an operand (then it divides). */
  const operandBefore = (): boolean => {
    const p = toks[toks.length - 1];
    if (!p) return false;
    if (p.t === "str" || p.t === "num" || p.t === "re") return true;
    if (p.t === "id") return !["print", "printf", "return", "in", "getline", "case", "do", "else"].includes(p.v);
    if (p.t === "op") return p.v === ")" || p.v === "]" || p.v === "$" || p.v === "++" || p.v === "--";
    return false;
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (c === "\n" || c === ";") {
      toks.push({ t: "nl" });
      i++;
    } else if (c === " " || c === "\t" || c === "\r") i++;
    else if (c === "\\" && src[i + 1] === "\n") i += 2;
    else if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++;
    } else if (c === '"') {
      let v = "";
      i++;
      for (;;) {
        if (i >= src.length) return "unterminated string";
        const d = src[i] as string;
        if (d === "\\") {
          const e = src[i + 1] ?? "";
          v += ({ n: "\n", t: "\t", '"': '"', "\\": "\\", "/": "/" } as Record<string, string>)[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        if (d === '"') break;
        v += d;
        i++;
      }
      i++;
      toks.push({ t: "str", v });
    } else if (c === "/" && !operandBefore()) {
      i++;
      let inClass = false;
      for (;;) {
        if (i >= src.length || src[i] === "\n") return "unterminated regular expression";
        const d = src[i] as string;
        if (d === "\\") i += 2;
        else {
          if (d === "[") inClass = true;
          else if (d === "]") inClass = false;
          else if (d === "/" && !inClass) break;
          i++;
        }
      }
      i++;
      toks.push({ t: "re" });
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      toks.push({ t: "id", v: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.]+([eE][-+]?[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
      toks.push({ t: "num" });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      const op = ["||", "|&", "&&", ">>", ">=", "<=", "==", "!=", "++", "--", "+=", "-=", "*=", "/=", "%=", "^=", "**"].includes(two) ? two : c;
      toks.push({ t: "op", v: op });
      i += op.length;
    }
  }
  return toks;
}

export function scanAwk(program: string): AwkScan {
  const out: AwkScan = { system: false, pipe: false, output: false, getlineFile: false, load: false, commands: [], outputs: [], inputs: [] };
  const toks = tokenize(program);
  if (typeof toks === "string") return { ...out, unparsed: toks };
  let inPrint = false;
  let printDepth = 0;
  let depth = 0;
  let getlineSeen = false;
  const str = (t: Tok | undefined): string | undefined => (t?.t === "str" ? t.v : undefined);
  toks.forEach((t, k) => {
    const next = toks[k + 1];
    if (t.t === "nl" || (t.t === "op" && (t.v === "{" || t.v === "}"))) {
      inPrint = false;
      getlineSeen = false;
      return;
    }
    if (t.t === "op" && t.v === "(") depth++;
    if (t.t === "op" && t.v === ")") depth--;
    if (t.t === "id") {
      if (t.v === "system" && next?.t === "op" && next.v === "(") {
        out.system = true;
        const arg = str(toks[k + 2]);
        const close = toks[k + 3];
        if (arg !== undefined && close?.t === "op" && close.v === ")") out.commands.push(arg);
      }
      if (t.v === "print" || t.v === "printf") {
        inPrint = true;
        printDepth = depth;
      }
      if (t.v === "getline") getlineSeen = true;
      if ((t.v === "load" || t.v === "include") && toks[k - 1]?.t === "op" && (toks[k - 1] as { v: string }).v === "@") out.load = true;
    }
    if (t.t === "op" && (t.v === "|" || t.v === "|&")) {
      out.pipe = true;
      const before = str(toks[k - 1]);
      const after = str(next);
      if (before !== undefined && next?.t === "id" && next.v === "getline") out.commands.push(before);
      else if (after !== undefined && inPrint) out.commands.push(after);
    }
    if (t.t === "op" && (t.v === ">" || t.v === ">>") && inPrint && depth === printDepth) {
      const f = str(next);
      // awk itself handles these names: no file is opened.
      if (f === "/dev/stdout" || f === "/dev/stderr" || f === "-") return;
      out.output = true;
      if (f !== undefined) out.outputs.push(f);
    }
    if (t.t === "op" && t.v === "<" && getlineSeen) {
      out.getlineFile = true;
      const f = str(next);
      if (f !== undefined) out.inputs.push(f);
    }
  });
  return out;
}

/** Whether the scan found anything that runs code, writes or reads files, or could not be read. */
export function awkIsUnsafe(s: AwkScan): boolean {
  return s.system || s.pipe || s.output || s.getlineFile || s.load || s.unparsed !== undefined;
}
