// The settings the http hook judges by, compiled once and reused: the hook answers before every tool
// call of a coding agent (target: p50 <= 5 ms), so it must not parse and validate settings files on
// every request. Changes are picked up without a restart: before each call the settings files are
// stat()ed (mtime, ctime, size, inode, in nanoseconds; a file that appears or goes away counts), and
// any difference recompiles. A settings error refuses every call until the files change again.
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { compileSettings, type CompiledSettings } from "../../check/judge.js";
import type { Principal } from "../../policy/principal.js";
import { loadSettings } from "../../settings/load.js";
import { settingsFiles } from "../../settings/paths.js";
import { trustStoreFile } from "../../settings/trust.js";

export interface HookCall {
  /** The agent's working directory, from the event. */
  cwd: string;
  /** The project the agent works in, when one was found (a directory holding `.mcp-warden/`). */
  projectRoot: string | undefined;
  /** Who sent the event (serve's authenticated caller). */
  principal: Principal;
}

/** Compiled settings for one call; throws (with a message a person can act on) when they cannot be loaded. */
export interface HookSettingsSource {
  forCall(call: HookCall): CompiledSettings;
}

export interface ReloadingSettingsOptions {
  env: NodeJS.ProcessEnv;
  /** `--settings FILE` arguments (made absolute from the daemon's working directory). */
  cliFiles?: string[];
  /**
   * Whose project settings apply:
   * - `{ dir }`: always those of this directory (the daemon's own: one policy for every caller);
   * - `"caller"`: those of the calling agent's project (projectRoot, else cwd), read from this
   *   machine's filesystem, exactly as `mcp-warden hook` reads them. Only for a daemon whose callers
   *   are this machine's user: a caller names the directory, so a remote one could pick any trusted
   *   project's settings here.
   */
  project: { dir: string } | "caller";
  /** How many projects' compiled settings are kept ("caller" mode); the least recently used goes. */
  maxProjects?: number;
}

interface Entry {
  signature: string;
  compiled?: CompiledSettings;
  error?: Error;
}

const DEFAULT_MAX_PROJECTS = 32;

/** Settings loaded like the CLI loads them (full validation), recompiled when a file changes. */
export function reloadingSettings(opts: ReloadingSettingsOptions): HookSettingsSource {
  const env = opts.env;
  const cliFiles = (opts.cliFiles ?? []).map((f) => resolve(f));
  const max = opts.maxProjects ?? DEFAULT_MAX_PROJECTS;
  const cache = new Map<string, Entry>();
  return {
    forCall(call) {
      const dir = opts.project === "caller" ? (call.projectRoot ?? call.cwd) : opts.project.dir;
      const signature = settingsSignature(dir, env, cliFiles);
      let entry = cache.get(dir);
      if (entry === undefined || entry.signature !== signature) {
        entry = { signature };
        try {
          entry.compiled = compileSettings(loadSettings({ cwd: dir, env, cliFiles }), env);
        } catch (error) {
          entry.error = error as Error;
        }
      }
      // Most recently used last; the first key is the one to drop.
      cache.delete(dir);
      cache.set(dir, entry);
      if (cache.size > max) cache.delete(cache.keys().next().value as string);
      if (entry.error) throw entry.error;
      return entry.compiled as CompiledSettings;
    },
  };
}

/**
 * What the settings of `dir` depend on, as one string: every file the loader may read (present or
 * not) and the trust store that says whether project settings count. Equal strings, same settings.
 */
export function settingsSignature(dir: string, env: NodeJS.ProcessEnv, cliFiles: readonly string[]): string {
  const paths = settingsFiles({ cwd: dir, env });
  const files = [paths.managed, paths.managedMcp, paths.local, paths.project, paths.user, trustStoreFile(env), ...cliFiles];
  let names: string[] = [];
  try {
    names = readdirSync(paths.managedDropIns).sort();
  } catch {
    // No drop-in directory: nothing to add (its appearance shows in the stat below).
  }
  files.push(paths.managedDropIns, ...names.map((n) => join(paths.managedDropIns, n)));
  return files.map((f) => `${f}\0${stamp(f)}`).join("\n");
}

function stamp(file: string): string {
  try {
    const st = statSync(file, { bigint: true, throwIfNoEntry: false });
    return st === undefined ? "-" : `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (error) {
    // Unreadable is not absent: a stamp that never equals a cached one reloads and reports the error.
    return `error:${(error as NodeJS.ErrnoException).code ?? "?"}:${process.hrtime.bigint()}`;
  }
}
