// A reader of GNU sed scripts, only as far as the Bash judge needs: does the script run commands
// (`e`, the `e` flag of `s`), write files (`w`, `W`, the `w` flag of `s`) or read files (`r`, `R`)?
// Anything it does not understand makes the script "unparsed", which the judge treats like a
// script that runs commands (fail closed).

export interface SedScan {
  /** Runs shell commands: `e command` (listed) or `e` / `s///e` (the pattern space: unknown). */
  exec: boolean;
  /** The static commands of `e command`. */
  commands: string[];
  /** Files written by `w`, `W`, `s///w`. */
  writes: string[];
  /** Files read by `r`, `R`. */
  reads: string[];
  /** Why the script could not be read (then treat it as running commands). */
  unparsed?: string;
}

/** Commands that take no argument. */
const SIMPLE = new Set(["=", "d", "D", "g", "G", "h", "H", "n", "N", "p", "P", "x", "z", "F"]);
/** Files that are not files. */
const STD_STREAMS = new Set(["/dev/stdout", "/dev/stderr", "/dev/stdin"]);

export function scanSed(script: string): SedScan {
  const out: SedScan = { exec: false, commands: [], writes: [], reads: [] };
  let i = 0;
  const n = script.length;
  const peek = (): string => script[i] ?? "";
  const fail = (why: string): SedScan => ({ ...out, unparsed: `${why} at offset ${i}` });
  const skipBlanks = (): void => {
    while (i < n && (script[i] === " " || script[i] === "\t")) i++;
  };
  /** The rest of the line (file names, `e` commands, text of a/i/c). */
  const restOfLine = (): string => {
    const start = i;
    while (i < n && script[i] !== "\n") i++;
    return script.slice(start, i);
  };
  /** A label or version: up to `;` or newline. */
  const label = (): void => {
    while (i < n && script[i] !== ";" && script[i] !== "\n") i++;
  };
  /** A delimited part (`/re/`, the parts of `s` and `y`); false when unterminated. */
  const delimited = (delim: string): boolean => {
    while (i < n) {
      const c = script[i] as string;
      if (c === "\\") {
        i += 2;
        continue;
      }
      if (c === "\n" && delim !== "\n") return false;
      i++;
      if (c === delim) return true;
    }
    return false;
  };
  const address = (): boolean => {
    const c = peek();
    if (/[0-9]/.test(c)) {
      while (/[0-9]/.test(peek())) i++;
      if (peek() === "~") {
        i++;
        while (/[0-9]/.test(peek())) i++;
      }
      return true;
    }
    if (c === "$") {
      i++;
      return true;
    }
    if (c === "/" || c === "\\") {
      let delim = "/";
      if (c === "\\") {
        i++;
        delim = peek();
        if (delim === "" || delim === "\n") return false;
      }
      i++;
      if (!delimited(delim)) return false;
      while (peek() === "I" || peek() === "M") i++;
      return true;
    }
    return false;
  };

  while (i < n) {
    const c = peek();
    if (c === " " || c === "\t" || c === "\n" || c === ";") {
      i++;
      continue;
    }
    if (c === "#") {
      restOfLine();
      continue;
    }
    // Addresses: `addr`, `addr1,addr2`, `addr,+N`, `addr,~N`, `0,/re/`, then `!`.
    const hadAddress = address();
    if (hadAddress && peek() === ",") {
      i++;
      skipBlanks();
      if (peek() === "+" || peek() === "~") {
        i++;
        if (!/[0-9]/.test(peek())) return fail("bad address step");
        while (/[0-9]/.test(peek())) i++;
      } else if (!address()) return fail("bad second address");
    }
    skipBlanks();
    while (peek() === "!") {
      i++;
      skipBlanks();
    }
    const cmd = peek();
    i++;
    if (cmd === "{" || cmd === "}") continue;
    if (SIMPLE.has(cmd)) continue;
    if (cmd === "q" || cmd === "Q" || cmd === "l" || cmd === "L") {
      skipBlanks();
      while (/[0-9]/.test(peek())) i++;
      continue;
    }
    if (cmd === ":" || cmd === "b" || cmd === "t" || cmd === "T" || cmd === "v") {
      label();
      continue;
    }
    if (cmd === "a" || cmd === "i" || cmd === "c") {
      // GNU one-liner `a text` or `a\` + newline + text (continued with trailing backslashes).
      for (;;) {
        const line = restOfLine();
        if (!line.endsWith("\\") || i >= n) break;
        i++;
      }
      continue;
    }
    if (cmd === "r" || cmd === "R" || cmd === "w" || cmd === "W") {
      skipBlanks();
      const file = restOfLine();
      if (file === "") return fail(`'${cmd}' without a file name`);
      if (cmd === "r" || cmd === "R") {
        if (!STD_STREAMS.has(file)) out.reads.push(file);
      } else if (!STD_STREAMS.has(file)) out.writes.push(file);
      continue;
    }
    if (cmd === "e") {
      skipBlanks();
      const command = restOfLine();
      out.exec = true;
      if (command !== "") out.commands.push(command);
      continue;
    }
    if (cmd === "s" || cmd === "y") {
      const delim = peek();
      if (delim === "" || delim === "\n" || delim === "\\") return fail(`bad delimiter after '${cmd}'`);
      i++;
      if (!delimited(delim) || !delimited(delim)) return fail(`unterminated '${cmd}'`);
      if (cmd === "y") continue;
      // Flags: g p i I m M e, a number, then `w file` (rest of line).
      while (i < n) {
        const f = peek();
        if (/[gpiImM0-9]/.test(f)) i++;
        else if (f === "e") {
          out.exec = true;
          i++;
        } else if (f === "w") {
          i++;
          skipBlanks();
          const file = restOfLine();
          if (file === "") return fail("'s///w' without a file name");
          if (!STD_STREAMS.has(file)) out.writes.push(file);
          break;
        } else break;
      }
      continue;
    }
    return fail(`unknown sed command '${cmd}'`);
  }
  return out;
}
