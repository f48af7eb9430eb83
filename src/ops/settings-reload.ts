// The settings reload of serve and run. The settings files' directories are watched (a Kubernetes ConfigMap
// volume swaps a `..data` symlink in the directory, so the file itself never changes in place),
// with a slow poll behind the watch for what inotify misses (a directory that appears later, an
// NFS mount). A change is debounced, then the files are loaded and validated in full; only settings
// that load and compile are applied. A bad file changes nothing: the old settings stay in force.
import { watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { AuditSink } from "../audit/index.js";
import { settingsSignature } from "../fronts/http/hook-settings.js";
import { compileSettings } from "../check/judge.js";
import { loadSettings, type ResolvedSettings } from "../settings/index.js";

export interface SettingsReloaderOptions<S> {
  /** Where the layered settings are looked up (serve's working directory). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** `--settings` files, absolute. */
  cliFiles: string[];
  /** More directories to watch (those of the files the current settings came from). */
  directories: string[];
  /** Loads and validates the settings now; throws with a message a person can act on. */
  load: () => S;
  /** Applies loaded settings; throws when they cannot be applied (then nothing was changed). */
  apply: (next: S) => Promise<void>;
  /** Told when a changed file could not be loaded or applied (the old settings stay). */
  rejected: (error: Error) => void;
  /** Quiet time after the last change before loading (default 300 ms). */
  debounceMs?: number;
  /** The poll behind the watch (default 2000 ms). */
  pollMs?: number;
}

export interface SettingsReloader {
  close(): void;
}

export function watchSettings<S>(opts: SettingsReloaderOptions<S>): SettingsReloader {
  const debounceMs = opts.debounceMs ?? 300;
  const signature = () => settingsSignature(opts.cwd, opts.env, opts.cliFiles);
  let last = signature();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  /** One reload at a time; a change seen meanwhile is looked at again once it is done. */
  let reloading = false;
  let seenMeanwhile = false;

  const reload = async () => {
    timer = undefined;
    if (closed) return;
    if (reloading) {
      seenMeanwhile = true;
      return;
    }
    const now = signature();
    if (now === last) return;
    // Taken before loading: a file that changes again while this loads is seen by the next check.
    last = now;
    reloading = true;
    try {
      await opts.apply(opts.load());
    } catch (e) {
      try {
        opts.rejected(e instanceof Error ? e : new Error(String(e)));
      } catch {
        // Reporting failed too (a failed audit log says so on every later append): the old settings stay.
      }
    } finally {
      reloading = false;
      // A containment written while another change was loading must not wait for the poll.
      if (seenMeanwhile) {
        seenMeanwhile = false;
        changed();
      }
    }
  };
  // At most one reload pending: a burst of events (an editor's save, a ConfigMap swap) is one reload.
  const changed = () => {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
    timer.unref();
  };

  const watchers: FSWatcher[] = [];
  const directories = new Set([...opts.cliFiles.map((f) => dirname(f)), ...opts.directories]);
  for (const dir of directories) {
    try {
      const w = watch(dir, { persistent: false }, changed);
      // A watched directory removed (a volume unmounted): the poll goes on.
      w.on("error", () => w.close());
      watchers.push(w);
    } catch {
      // Not there (yet), or not watchable: the poll covers it.
    }
  }
  const poll = setInterval(() => {
    if (!timer && signature() !== last) changed();
  }, opts.pollMs ?? 2000);
  poll.unref();

  return {
    close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(poll);
      for (const w of watchers) w.close();
    },
  };
}

/** Settings a reload applies at once; a change to any other top-level field is reported as needing a restart. */
const LIVE_FIELDS = new Set<string>([
  "policy",
  "principals",
  // Claude Code's http hook reloads its settings itself (hook-settings.ts); the MCP path reads these through `policy`.
  "toolPermissions",
  "bashSandbox",
  // Not settings: where they came from, and notes.
  "files",
  "untrustedFiles",
  "warnings",
]);

/**
 * The top-level fields that differ and only take effect after a restart (servers, remote, audit,
 * state, ...). Principals' rate limits apply live only when some were set at start (the rate
 * limiter asks for them per request only then).
 */
export function fieldsNeedingRestart(before: ResolvedSettings, after: ResolvedSettings, livePrincipalLimits: boolean): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const key of keys) {
    if (LIVE_FIELDS.has(key)) continue;
    const a = (before as unknown as Record<string, unknown>)[key];
    const b = (after as unknown as Record<string, unknown>)[key];
    let same: boolean;
    try {
      same = JSON.stringify(a) === JSON.stringify(b);
    } catch {
      same = false;
    }
    if (!same) out.push(key);
  }
  // The rates only: where a rate is written (its source) may change without changing it.
  const limitsOf = (x: ResolvedSettings) =>
    JSON.stringify(Object.entries(x.principals ?? {}).map(([k, v]) => [k, v.rateLimits.perPrincipal?.value, Object.entries(v.rateLimits.perTool).map(([t, r]) => [t, r.value])]));
  if (!livePrincipalLimits && limitsOf(before) !== limitsOf(after)) out.push("principals.*.rateLimits");
  return out.sort();
}

export interface ReloadOptions {
  /** Where the reload's records go (the gateway's audit log). */
  audit: Pick<AuditSink, "append">;
  env: NodeJS.ProcessEnv;
  cliFiles: string[];
  initial: ResolvedSettings;
  /** Compiles and installs the new rules; throws (nothing changed) when they do not compile. */
  applyPolicy: (next: ResolvedSettings) => Promise<void>;
  onResult?: (result: "applied" | "rejected") => void;
  /** Whether the rate limiter asks for principals' limits (some were set at start). */
  livePrincipalLimits: boolean;
  log: (m: string) => void;
}

/** Watches the settings files; valid changes are applied and audited, invalid ones audited and ignored (serve and run). */
export function reloadSettings(opts: ReloadOptions): SettingsReloader {
  let current = opts.initial;
  const { audit, log } = opts;
  return watchSettings<ResolvedSettings>({
    cwd: process.cwd(),
    env: opts.env,
    cliFiles: opts.cliFiles.map((f) => resolve(f)),
    directories: current.files.map((f) => dirname(f.file)),
    // Loaded and every rule compiled as at start; any error rejects the change.
    load: () => {
      const next = loadSettings({ cwd: process.cwd(), env: opts.env, cliFiles: opts.cliFiles });
      compileSettings(next, opts.env);
      return next;
    },
    apply: async (next) => {
      await opts.applyPolicy(next);
      const restart = fieldsNeedingRestart(current, next, opts.livePrincipalLimits);
      current = next;
      opts.onResult?.("applied");
      log(`settings reloaded: the rules are in force now${restart.length ? `; changes to ${restart.join(", ")} take effect after a restart` : ""}`);
      audit.append({
        kind: "gateway",
        event: "settings-reloaded",
        detail: { files: next.files.map((f) => `${f.layer}:${f.file}`), ...(restart.length ? { needsRestart: restart } : {}) },
      });
    },
    rejected: (error) => {
      opts.onResult?.("rejected");
      log(`settings reload rejected, the previous settings stay in force: ${error.message} (fix the file; it is read again when it changes)`);
      audit.append({ kind: "gateway", event: "settings-reload-rejected", decision: "deny", error: error.message });
    },
  });
}
