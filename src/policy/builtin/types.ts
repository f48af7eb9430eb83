// Types shared by the judges of Claude Code's built-in tools (Bash, the file tools, WebFetch, and
// `Tool(param:value)` rules). Pure: the one piece of I/O a judge needs (symlink resolution) is
// injected through PolicyEnvironment, so the core stays testable and the adapter stays at the edge.
import type { LinkPair } from "../paths/index.js";
import type { PolicyInput, Source, Verdict } from "../types.js";

export type Effect = "allow" | "ask" | "deny";
export type Mode = PolicyInput["defaultMode"];

/**
 * One rule for a built-in tool, parsed (`Tool` or `Tool(specifier)`), with where it was written.
 * Rules of the second seed's form (`toolPermissions`) arrive here already normalized into this shape.
 */
export interface BuiltinRule {
  effect: Effect;
  /** The tool name as written: `Bash`, `Read`, `Edit`, `Write`, `WebFetch`, `Grep`... */
  tool: string;
  /** Inside the parentheses; undefined for `Tool` and `Tool(*)` (every use of the tool). */
  specifier?: string;
  /** The rule as the user wrote it (for Verdict.rule and messages), e.g. `Bash(git status:*)` or `curl * | bash`. */
  text: string;
  source: Source;
  /**
   * An allow of `toolPermissions.Bash.allowCommands`: the command and any further arguments, at a word
   * boundary (`npm run` allows `npm run build`, not `npm runx`), for every stage of a pipeline.
   */
  prefix?: boolean;
  /**
   * Root for `/path` anchors of path rules: the directory that holds the settings file's own
   * directory (`<project>` for `<project>/.mcp-warden/settings.json`); undefined for rules given
   * inline (check --batch), where the request's cwd is used.
   */
  settingsRoot?: string;
}

/** What the core needs from the world. `fsEnvironment()` (paths/links.ts) is the real adapter. */
export interface PolicyEnvironment {
  /** Absolute home directory (for `~/` anchors and protected start-up files). */
  home: string;
  /** Decides case sensitivity of path deny rules (darwin, win32: case-insensitive). */
  platform: NodeJS.Platform;
  /** Symlink resolution of a canonical absolute path (see paths/links.ts resolveLinks). Throws when it cannot know: fail closed. */
  resolveLinks(absPath: string): LinkPair;
  /** mcp-warden's own files and directories (settings files, audit and state directories): writes there are protected. */
  protectedPaths: string[];
  /** Whether a path is a directory (undefined: cannot tell). Lets a Grep of one file be judged as that file. */
  isDirectory?(absPath: string): boolean | undefined;
  /**
   * Visits what is under a directory now (breadth first, symlinked directories not entered, at most
   * `maxDepth` levels down), until `visit` returns true or `limit` entries were seen. "complete" when
   * every entry was visited. Lets a
   * recursive read, whose tree a deny rule's shape could reach, go ahead when no denied path is there.
   */
  walk?(dir: string, visit: (absPath: string, kind: "file" | "dir" | "symlink") => boolean, limit: number, maxDepth?: number): "complete" | "stopped" | "incomplete";
}

/** Per request: where the agent works and in which mode. */
export interface BuiltinContext {
  /** Absolute working directory of the call: relative paths are resolved against it. */
  cwd: string;
  /**
   * The project root and `permissions.additionalDirectories`, absolute (each also counts by its real
   * path). Reads inside are allowed by default. Empty: nothing is inside.
   */
  workingDirectories: string[];
  mode: Mode;
  /** Absolute home directory, for `~` and `$HOME` in shell commands judged by intent (bash-intent.ts). */
  home?: string;
  /**
   * Set when the call's cwd does not really lie inside the working directories (working-dirs.ts): the
   * call is judged as outside them (no working-directory default, no allow rule anchored at cwd). The
   * text says why, for reasons shown to the user.
   */
  cwdOutside?: string;
}

/**
 * A verdict of a built-in judge. `keepAsk`: an ask that bypassPermissions mode must not turn into
 * allow (writes to protected paths). `unmatched`: no rule decided; the default applied.
 */
export interface BuiltinVerdict extends Verdict {
  keepAsk?: boolean;
  unmatched?: boolean;
}

/** How much of a path argument of a shell command is known before it runs. */
export type FilePathKind =
  /** Static after quote removal (`.env`, `~/x`, `/etc/passwd`). */
  | "literal"
  /** Static text with unquoted glob characters (`src/*.ts`): bash expands it at run time. */
  | "glob"
  /** Depends on run time: a parameter, a substitution, `{}` of find -exec / xargs input. */
  | "unknown";

/** A file a shell command reads or writes, found by the Bash judge. */
export interface FileAccess {
  /** As bash would pass it after quote removal (may start with `~` or be relative to cwd); for "unknown", its source text. */
  path: string;
  kind: FilePathKind;
  access: "read" | "write";
  /** Reads a whole directory tree (grep -r, rg, cp -r, tar c of a directory...). */
  recursive?: boolean;
  /**
   * A write that shows nothing of the file (`> .env`, `cp x .env`, `tee .env`): Read rules do not
   * govern it, the Edit rules and the working-directory default do. Shell commands list what they
   * read of a file as a read access of its own (`sed -i` gives both). Absent: Read denies and asks
   * cover the write too, as for the Edit tool, whose answer quotes the file.
   */
  writeOnly?: boolean;
  /** What does it, for messages: `cat`, `> redirect`, `sed -i`, `cp (source)`. */
  via: string;
  /**
   * The file system may change before this access happens (an earlier command of the same line
   * writes files): judge globs and recursive reads by the rules alone, never by what is on disk now.
   */
  staticOnly?: boolean;
}

/**
 * What the file rules say about one access of a shell command or an MCP tool's path argument.
 * Only objections: a deny or an ask verdict, or undefined when no Read/Edit rule or protection objects.
 * An allow of the command itself comes from the Bash (or MCP) rules, never from here.
 */
export interface FileJudge {
  checkAccess(a: FileAccess, ctx: BuiltinContext): BuiltinVerdict | undefined;
  /** Whether any deny rule governs this kind of access (for fail-closed answers on what cannot be resolved). */
  hasDeny(access: "read" | "write"): boolean;
  /**
   * Whether a directory (absolute, `~/...` or relative to ctx.cwd) lies inside the working
   * directories as written and with symlinks resolved (`cd DIR`). Absent or false: judge it as outside.
   */
  insideWorkingDirectories?(dir: string, ctx: BuiltinContext): boolean;
}
