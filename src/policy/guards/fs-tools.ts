// Which arguments of which tools are paths, for the filesystem guard: the tools of the reference
// server `@modelcontextprotocol/server-filesystem` (checked against its 2026.8.31 build), and the
// heuristics that catch a path in a tool nobody declared.

export type Access = "read" | "write";

export interface ToolSpec {
  /** Argument name → access. Each argument holds a path or an array of paths. */
  paths: Map<string, Access>;
  /** Arguments known not to be paths (only for the built-in table: see undeclaredPathArgument). */
  others: ReadonlySet<string>;
  /** From the built-in table (true) or declared in guards.filesystem.tools (false). */
  builtin: boolean;
}

const r = (...names: string[]) => names.map((n) => [n, "read"] as const);
const w = (...names: string[]) => names.map((n) => [n, "write"] as const);

/**
 * The reference filesystem server's tools. move_file's source is a write: the file disappears from
 * there. search_files' `pattern` and the `excludePatterns` are globs matched against paths relative
 * to the (checked) `path` argument, never opened themselves.
 */
const REFERENCE_TOOLS: Record<string, { paths: (readonly [string, Access])[]; others: string[] }> = {
  read_text_file: { paths: r("path"), others: ["head", "tail"] },
  read_file: { paths: r("path"), others: ["head", "tail"] },
  read_media_file: { paths: r("path"), others: [] },
  read_multiple_files: { paths: r("paths"), others: [] },
  write_file: { paths: w("path"), others: ["content"] },
  edit_file: { paths: w("path"), others: ["edits", "dryRun"] },
  create_directory: { paths: w("path"), others: [] },
  list_directory: { paths: r("path"), others: [] },
  list_directory_with_sizes: { paths: r("path"), others: ["sortBy"] },
  directory_tree: { paths: r("path"), others: ["excludePatterns"] },
  move_file: { paths: w("source", "destination"), others: [] },
  search_files: { paths: r("path"), others: ["pattern", "excludePatterns"] },
  get_file_info: { paths: r("path"), others: [] },
  list_allowed_directories: { paths: [], others: [] },
};

/**
 * The tool table: the reference tools, plus guards.filesystem.tools. A declaration adds arguments to
 * a reference tool or upgrades one from read to write; it never removes or downgrades one (a typo
 * in settings must not open a hole).
 */
export function buildToolTable(declared: Record<string, { read?: string[]; write?: string[] }> | undefined): Map<string, ToolSpec> {
  const table = new Map<string, ToolSpec>();
  for (const [name, t] of Object.entries(REFERENCE_TOOLS)) {
    table.set(name, { paths: new Map(t.paths), others: new Set(t.others), builtin: true });
  }
  for (const [name, d] of Object.entries(declared ?? {})) {
    const existing = table.get(name);
    const spec: ToolSpec = existing ? { paths: new Map(existing.paths), others: existing.others, builtin: false } : { paths: new Map(), others: new Set(), builtin: false };
    for (const a of d?.read ?? []) if (!spec.paths.has(a)) spec.paths.set(a, "read");
    for (const a of d?.write ?? []) spec.paths.set(a, "write");
    table.set(name, spec);
  }
  return table;
}

/** Name parts that mark an argument as a path (camelCase, snake_case, kebab-case and dots split). */
const PATH_WORDS = new Set([
  "path", "paths", "pathname", "filepath", "filepaths",
  "file", "files", "filename", "filenames",
  "dir", "dirs", "directory", "directories", "folder", "folders", "dirname",
  "source", "sources", "src", "destination", "destinations", "dest", "dst", "target", "targets",
  "from", "to", "uri", "uris", "url", "urls", "root", "roots", "cwd", "location", "workdir",
]);

/** Whether an argument's name says it holds a path (`path`, `filePath`, `source_dir`, `uri`...). */
export function looksLikePathName(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((w) => PATH_WORDS.has(w));
}

const NON_FILE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Whether a string value looks like a path: absolute, `~`, `.`/`..`-relative, a `file:` URI, a
 * Windows drive or UNC path, or a relative path with a separator (not a `scheme://` URL).
 */
export function looksLikePathValue(v: string): boolean {
  if (v.length === 0) return false;
  if (v.length > 8192) return true; // too long to tell: fail closed
  if (/^file:/i.test(v)) return true;
  if (NON_FILE_URL.test(v)) return false;
  if (/^[/\\~]/.test(v)) return true;
  if (/^\.\.?($|[/\\])/.test(v)) return true;
  if (/^[A-Za-z]:[/\\]/.test(v)) return true;
  // A relative path with a separator; prose with a slash ("and/or the file") has spaces.
  return /[/\\]/.test(v) && !/\s/.test(v);
}

/**
 * The first argument of an undeclared tool that looks like a path, by its name or by a string
 * anywhere in its value (arrays and objects are searched a few levels deep), or undefined.
 */
export function findPathLikeArgument(input: Record<string, unknown>): { name: string; why: "name" | "value" } | undefined {
  for (const [name, value] of Object.entries(input)) {
    if (looksLikePathName(name)) return { name, why: "name" };
    if (holdsPathValue(value, 0)) return { name, why: "value" };
  }
  return undefined;
}

/** Whether an argument looks like a path, by its name or by a string anywhere in its value. */
export function argumentLooksLikePath(name: string, value: unknown): boolean {
  return looksLikePathName(name) || holdsPathValue(value, 0);
}

function holdsPathValue(v: unknown, depth: number): boolean {
  if (typeof v === "string") return looksLikePathValue(v);
  if (v === null || typeof v !== "object") return false;
  if (depth >= 4) return true; // too deep to search: fail closed
  const entries: [string | undefined, unknown][] = Array.isArray(v) ? v.map((x) => [undefined, x]) : Object.entries(v as Record<string, unknown>);
  if (entries.length > 1000) return true; // too big to search: fail closed
  for (const [k, x] of entries) {
    if (k !== undefined && looksLikePathName(k)) return true;
    if (holdsPathValue(x, depth + 1)) return true;
  }
  return false;
}
