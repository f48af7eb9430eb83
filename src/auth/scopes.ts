// remote.auth.requiredScopes: scopes a request needs, by method (`tools/call`) or canonical tool
// name or glob (`mcp__github__*`). Every matching entry's scopes are required together. Keys match
// case-insensitively with the policy's globs (`*` crosses every character), so a requirement can
// only match more names than its author wrote, never fewer.
import { fold, Glob } from "../policy/glob.js";

export class RequiredScopes {
  private readonly entries: { glob: Glob; scopes: readonly string[] }[];

  constructor(map: Readonly<Record<string, readonly string[]>> | undefined) {
    this.entries = Object.entries(map ?? {}).map(([key, scopes]) => ({ glob: new Glob(fold(key)), scopes }));
  }

  /** Every scope `method` (and `tool`, a canonical name, when given) needs, each once, in settings order. */
  for(method: string, tool?: string): string[] {
    const m = fold(method);
    const t = tool === undefined ? undefined : fold(tool);
    const out = new Set<string>();
    for (const e of this.entries) if (e.glob.test(m) || (t !== undefined && e.glob.test(t))) for (const s of e.scopes) out.add(s);
    return [...out];
  }

  /** Every scope named anywhere (the metadata's scopes_supported). */
  all(): string[] {
    return [...new Set(this.entries.flatMap((e) => e.scopes))];
  }
}
