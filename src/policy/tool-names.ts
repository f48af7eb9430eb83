// Names of Claude Code's built-in tools, to catch a misspelled one in a rule. Pure.
//
// A rule for a tool name nobody uses never matches: a deny rule `Raed(.env)` would silently protect
// nothing. A rule may still name a tool this list does not know (a client's newer tool), so only a
// name that is almost a known one (one edit or transposition, two for long names) is refused, with
// the name it probably meant. A name that differs only in case is refused for the tools with a judge
// of their own (`bash(...)` would reach none of it); for the others a deny or ask rule matches the
// name in any case (builtin/params.ts), so it is no typo.

export const KNOWN_BUILTIN_TOOLS: readonly string[] = [
  "Agent",
  "Bash",
  "BashOutput",
  "Edit",
  "ExitPlanMode",
  "Glob",
  "Grep",
  "KillBash",
  "KillShell",
  "LS",
  "ListMcpResourcesTool",
  "MultiEdit",
  "NotebookEdit",
  "NotebookRead",
  "Read",
  "ReadMcpResourceTool",
  "SlashCommand",
  "Skill",
  "Task",
  "TodoRead",
  "TodoWrite",
  "WebFetch",
  "WebSearch",
  "Write",
];

const KNOWN = new Set(KNOWN_BUILTIN_TOOLS);

/** Tools judged by their own judge (bash.ts, files.ts, web.ts), which compares the name exactly. */
export const OWN_JUDGE_TOOLS: ReadonlySet<string> = new Set(["Bash", "Read", "Edit", "Write", "MultiEdit", "NotebookEdit", "NotebookRead", "Grep", "Glob", "LS", "WebFetch"]);

/** The known tool `name` is probably a misspelling of, or undefined (a known name, or not close to any). */
export function misspelledToolName(name: string): string | undefined {
  if (KNOWN.has(name)) return undefined;
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const known of KNOWN_BUILTIN_TOOLS) {
    if (known.toLowerCase() === lower) return OWN_JUDGE_TOOLS.has(known) ? known : undefined;
    // Short names are too close to each other for edits to mean a typo (`LS` is one edit from `Ls`, `GS`, ...).
    if (Math.min(known.length, name.length) < 4) continue;
    const limit = known.length >= 8 ? 2 : 1;
    const distance = editDistance(lower, known.toLowerCase(), limit);
    if (distance <= limit && (best === undefined || distance < best.distance)) best = { name: known, distance };
  }
  return best?.name;
}

/** Edits (insert, delete, substitute, swap of neighbours) from a to b; any value above `limit` means "more". */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    rows.push([i]);
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        rows[0]!.push(j);
        continue;
      }
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]!.push(d);
    }
  }
  return rows[a.length]![b.length]!;
}
