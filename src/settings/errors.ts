// Settings errors: every problem names its file and JSON path, so a person can fix it without guessing.

export interface SettingsIssue {
  /** JSON path like `mcpServers.github.args[2]`; "" for the whole file. */
  path: string;
  message: string;
}

export interface SettingsErrorOptions {
  /** 1-based position, for JSON syntax errors. */
  line?: number;
  column?: number;
  /** Further problems in the same file, reported one per line after the first. */
  more?: SettingsIssue[];
}

export class SettingsError extends Error {
  override name = "SettingsError";
  readonly file: string;
  /** JSON path of the (first) problem, e.g. `mcpServers.github.args[2]`; "" for the whole file. */
  readonly path: string;
  readonly line?: number;
  readonly column?: number;
  /** Every problem found, first one first. */
  readonly issues: SettingsIssue[];

  constructor(file: string, path: string, problem: string, opts: SettingsErrorOptions = {}) {
    const issues = [{ path, message: problem }, ...(opts.more ?? [])];
    const lines = issues.map((issue, i) =>
      i === 0 && opts.line !== undefined
        ? `${file}: at line ${opts.line}, column ${opts.column ?? 1}${path ? ` (${path})` : ""}: ${problem}`
        : formatLine(file, issue),
    );
    super(lines.join("\n"));
    this.file = file;
    this.path = path;
    this.issues = issues;
    if (opts.line !== undefined) {
      this.line = opts.line;
      this.column = opts.column ?? 1;
    }
  }
}

function formatLine(file: string, issue: SettingsIssue): string {
  // A problem with the file as a whole (unreadable, not an object) has no path to point at.
  return issue.path ? `${file}: at ${issue.path}: ${issue.message}` : `${file}: ${issue.message}`;
}

type Segment = string | number;

/** `["mcpServers", "github", "args", 2]` → `mcpServers.github.args[2]`; odd keys are quoted: `env["A.B"]`. */
export function formatPath(segments: readonly PropertyKey[]): string {
  return segments.reduce<string>((out, seg) => joinPath(out, typeof seg === "number" ? seg : String(seg)), "");
}

/** Appends one key or index to a formatted JSON path. */
export function joinPath(base: string, key: Segment): string {
  if (typeof key === "number") return `${base}[${key}]`;
  if (/^[A-Za-z0-9_$-]+$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}
