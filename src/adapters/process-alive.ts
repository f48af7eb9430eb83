// Whether a process exists: one answer for every lock and reaper (pin store, audit lock, orphaned
// servers), so they agree on what "dead" means.

/** True when `pid` names a live process (also one of another user's: kill reports EPERM then). */
export function isAlive(pid: number): boolean {
  // kill(0) and kill(-n) would address process groups; only plain positive pids are asked about.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
