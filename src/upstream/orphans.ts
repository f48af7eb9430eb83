// Upstream process groups left behind by a gateway that was killed outright (SIGKILL, OOM): the
// next gateway, or `mcp-warden status`, finds them through the dead gateway's status file and stops
// them. A group is signalled only when it is provably ours: its leader is gone (so no other
// process can hold that group id), or the leader's start time still matches what we recorded
// (so the pid was not reused). Linux only; elsewhere nothing is reaped.
import { isAlive } from "../adapters/process-alive.js";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

export interface ChildGroup {
  pgid: number;
  /** Start time of the group leader in clock ticks since boot (/proc/<pid>/stat field 22). */
  startTicks: number;
  server: string;
}

/** The start time of a process, or undefined when it does not exist (or this is not Linux). */
export function processStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[19]);
    return Number.isSafeInteger(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

export { isAlive } from "../adapters/process-alive.js";

/** Stops the groups a dead gateway left; removes its status file. Returns what was stopped. */
export function reapOrphans(runDir: string): string[] {
  if (process.platform !== "linux") return [];
  let names: string[];
  try {
    names = readdirSync(runDir);
  } catch {
    return [];
  }
  const reaped: string[] = [];
  for (const name of names) {
    const m = /^([1-9][0-9]{0,9})\.json$/.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    const file = join(runDir, name);
    let groups: ChildGroup[] = [];
    try {
      const status = JSON.parse(readFileSync(file, "utf8")) as { pid?: unknown; children?: unknown };
      // A file whose content names another process is not ours to act on (nor to delete).
      if (status.pid !== Number(m[1])) continue;
      groups = Array.isArray(status.children) ? (status.children as ChildGroup[]) : [];
    } catch {
      continue; // unreadable: nothing can be proved, so nothing is signalled or removed
    }
    for (const g of groups) {
      if (!Number.isSafeInteger(g?.pgid) || g.pgid <= 1 || !Number.isSafeInteger(g.startTicks)) continue;
      const now = processStartTicks(g.pgid);
      if (now !== undefined && now !== g.startTicks) continue; // pid reused by someone else
      try {
        process.kill(-g.pgid, "SIGKILL");
        reaped.push(`server '${String(g.server)}' (process group ${g.pgid}) of dead gateway ${m[1]}`);
      } catch {
        /* the group is already empty */
      }
    }
    rmSync(file, { force: true });
  }
  return reaped;
}
