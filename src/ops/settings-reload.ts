// serve's settings reload. The settings files' directories are watched (a Kubernetes ConfigMap
// volume swaps a `..data` symlink in the directory, so the file itself never changes in place),
// with a slow poll behind the watch for what inotify misses (a directory that appears later, an
// NFS mount). A change is debounced, then the files are loaded and validated in full; only settings
// that load and compile are applied. A bad file changes nothing: the old settings stay in force.
import { watch, type FSWatcher } from "node:fs";
import { dirname } from "node:path";
import { settingsSignature } from "../fronts/http/hook-settings.js";

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
  /** One reload at a time; a change seen meanwhile is picked up by the poll afterwards. */
  let reloading = false;

  const reload = async () => {
    timer = undefined;
    if (closed || reloading) return;
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
