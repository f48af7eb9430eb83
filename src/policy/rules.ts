// The permission-rule language (Claude Code's syntax): parsing and validation. Pure: no I/O.
//
//   Tool                    a built-in tool, every use        (`Bash`, `Edit`)
//   Tool(specifier)         a built-in tool, some uses        (`Bash(npm run test:*)`, `Read(./secrets/**)`)
//   mcp__<server>           every tool of matching servers    (`mcp__github`, `mcp__*`)
//   mcp__<server>__<tool>   matching tools                    (`mcp__github__get_*`, `mcp__*__delete*`)
//
// In MCP rules `*` is a glob anywhere. Built-in rules are parsed and kept but not evaluated yet (the
// permission-language issue); a request for a built-in tool is denied until then.
import { codePoint, INVISIBLE_CHAR } from "./names.js";
import { misspelledToolName } from "./tool-names.js";
import type { Source } from "./types.js";

export class PolicyError extends Error {
  source?: Source;
  rule?: string;
  /** What is wrong, without the rule and location (the message has all three). */
  problem?: string;
  /** When several rules are bad: each one's error (the message lists them all; the fields above are the first's). */
  problems?: PolicyError[];

  constructor(message: string, details: { source?: Source; rule?: string; problem?: string } = {}) {
    super(message);
    this.name = "PolicyError";
    if (details.source) this.source = details.source;
    if (details.rule !== undefined) this.rule = details.rule;
    if (details.problem !== undefined) this.problem = details.problem;
  }
}

export type ParsedRule =
  | {
      kind: "mcp";
      /** The rule as written. */
      text: string;
      /** Server part (may contain `*`). */
      server: string;
      /** Tool part (may contain `*` and `__`); undefined for a server-only rule `mcp__<server>`. */
      tool?: string;
    }
  | {
      kind: "builtin";
      text: string;
      /** The built-in tool name (`Bash`). */
      tool: string;
      /** What is inside the parentheses; undefined for `Tool` and `Tool(*)`, which mean the same. */
      specifier?: string;
    };

/** Server names are letters, digits, `-` and `_` (see SERVER_NAME_PATTERN); `*` adds globbing. */
const SERVER_PART = /^[A-Za-z0-9_*-]+$/;
const BUILTIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The MCP prefix is recognized in any case, so `MCP__github` in a deny list is not mistaken for a built-in. */
const MCP_RULE = /^mcp__/i;

function invalid(text: string, problem: string): never {
  throw new PolicyError(`invalid rule ${JSON.stringify(text)}: ${problem}`, { rule: text, problem });
}

/** Parses one rule; throws PolicyError naming the rule and the problem. */
export function parseRule(text: string): ParsedRule {
  if (typeof text !== "string")
    throw new PolicyError(`invalid rule ${String(text)}: a rule must be a string`, { problem: "a rule must be a string" });
  if (text.trim() === "") invalid(text, "a rule must not be empty");
  const bad = INVISIBLE_CHAR.exec(text);
  if (bad) invalid(text, `it contains the invisible or control character ${codePoint(bad[0])}`);
  // A stray space would make a deny rule silently match nothing; refuse rather than guess.
  if (text !== text.trim()) invalid(text, "it has leading or trailing whitespace");

  if (MCP_RULE.test(text)) return parseMcpRule(text);
  return parseBuiltinRule(text);
}

function parseMcpRule(text: string): ParsedRule {
  if (text.includes("(") || text.includes(")"))
    invalid(text, "MCP rules take no (specifier): write mcp__<server> or mcp__<server>__<tool>");
  const rest = text.slice(5);
  if (rest === "") invalid(text, "'mcp__' must be followed by a server name");
  // Split like a canonical name: the server ends at the first `__`.
  const sep = rest.indexOf("__");
  if (sep === 0) invalid(text, "the server name after 'mcp__' is empty");
  const server = sep < 0 ? rest : rest.slice(0, sep);
  if (!SERVER_PART.test(server))
    invalid(text, `the server part ${JSON.stringify(server)} can never match a server name (letters, digits, '-', '_', and '*' globs)`);
  if (sep < 0) return { kind: "mcp", text, server };
  const tool = rest.slice(sep + 2);
  if (tool === "") invalid(text, `the tool name after 'mcp__${server}__' is empty`);
  return { kind: "mcp", text, server, tool };
}

function parseBuiltinRule(text: string): ParsedRule {
  const open = text.indexOf("(");
  const name = open < 0 ? text : text.slice(0, open);
  if (!BUILTIN_NAME.test(name))
    invalid(text, `${JSON.stringify(name)} is not a tool name (a word of letters, digits and '_', or mcp__<server>[__<tool>])`);
  // A rule for a misspelled tool would match nothing, silently (a deny that protects nothing).
  const meant = misspelledToolName(name);
  if (meant !== undefined) invalid(text, `there is no built-in tool ${JSON.stringify(name)}; did you mean ${JSON.stringify(meant + text.slice(name.length))}?`);
  if (open < 0) return { kind: "builtin", text, tool: name };

  // The specifier may hold balanced parentheses (`Bash(echo (hi))`); the closing one must end the rule.
  let depth = 0;
  let close = -1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    }
  }
  if (close < 0) invalid(text, "unbalanced parentheses: the specifier is never closed");
  if (close !== text.length - 1) invalid(text, `unexpected text after the closing parenthesis: ${JSON.stringify(text.slice(close + 1))}`);
  const specifier = text.slice(open + 1, close);
  if (specifier.trim() === "") invalid(text, `empty specifier: write ${name} or ${name}(<specifier>)`);
  // `Tool(*)` is the same rule as `Tool`.
  if (specifier === "*") return { kind: "builtin", text, tool: name };
  return { kind: "builtin", text, tool: name, specifier };
}

/** `file at path`, for error messages. */
export function describeSource(source: Source): string {
  return `${source.file} at ${source.path}`;
}
