// An upstream stdio server as a child process in its own process group, so that stopping it
// stops everything it spawned (npx -> sh -> node is the common case), with stderr to a log file.
import { spawn, type ChildProcess } from "node:child_process";
import type { Duplex, Readable } from "node:stream";
import type { JSONRPCMessage } from "@modelcontextprotocol/server";
import { JsonLinesTransport, type LineProblem } from "./json-lines.js";
import { StderrLog } from "./stderr-log.js";
import { processStartTicks } from "../upstream/orphans.js";

/** Variables a server gets from the gateway's environment; everything else must be configured. */
const INHERITED_ENV = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER", "LANG", "LC_ALL", "TMPDIR"];

export interface ProcessSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  stderrLog: string;
  /** Size at which the stderr log is rotated while the server runs (default 10 MiB; tests make it small). */
  stderrLogMaxBytes?: number;
  /** The stderr log had to stop while the server runs; without it, reported through the transport's onerror. */
  onLogProblem?: (message: string) => void;
  maxMessageBytes: number;
  onProblem?: (problem: LineProblem) => void;
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  /**
   * More descriptors for the child, as fd 3, 4, ...: "pipe" makes a connected stream (a socketpair;
   * the sandbox's egress channel), a number passes that descriptor of ours (a seccomp program).
   */
  extraStdio?: ("pipe" | number)[];
  /** The parent's ends of the "pipe" entries of extraStdio, in order, once the child runs. */
  onExtraStreams?: (streams: Duplex[]) => void;
  /** Called once when the child has exited (temporary files and descriptors of a sandbox launch). */
  cleanup?: () => void;
}

/** Every live child group, so a dying gateway can take them down synchronously. */
const liveGroups = new Set<number>();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pgid of liveGroups) killGroup(pgid, "SIGKILL");
  });
}

/** How long an exited server's stderr may stay open (a grandchild outside its group) before the log stops reading it. */
const STDERR_LINGER_MS = 2000;

export function killGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* already gone */
  }
}

export function childEnvironment(configured: Record<string, string>, parent: NodeJS.ProcessEnv): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of INHERITED_ENV) {
    const v = parent[key];
    if (v !== undefined) env[key] = v;
  }
  return { ...env, ...configured };
}

export class ProcessTransport {
  private child: ChildProcess | undefined;
  private lines: JsonLinesTransport | undefined;
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T) => void;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the child has exited (its stdout may close a moment earlier). */
  readonly exited: Promise<void>;
  /** Resolves when the child's stderr has been written to its log to the end and the log closed. */
  private logDrained: Promise<void> = Promise.resolve();
  private markExited!: () => void;

  constructor(private readonly spec: ProcessSpec) {
    this.exited = new Promise((resolve) => (this.markExited = resolve));
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The process group and its leader's start time, for reaping after a gateway crash. */
  group: { pgid: number; startTicks: number } | undefined;

  async start(): Promise<void> {
    installExitHook();
    let log: StderrLog | undefined;
    let child: ChildProcess;
    try {
      // Before the spawn: a log that is a link (or not ours) refuses the start, with the file named.
      log = StderrLog.open(this.spec.stderrLog, {
        ...(this.spec.stderrLogMaxBytes !== undefined ? { maxBytes: this.spec.stderrLogMaxBytes } : {}),
        onProblem: (message) => (this.spec.onLogProblem ? this.spec.onLogProblem(message) : this.onerror?.(new Error(message))),
      });
      // stderr is a pipe the gateway reads and writes to the log, never the file itself: the child
      // could otherwise grow it without bound, and a descriptor to it would outlive any check.
      child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ["pipe", "pipe", "pipe", ...(this.spec.extraStdio ?? [])],
        detached: true, // its own process group: killGroup reaches grandchildren
      });
    } catch (error) {
      log?.close();
      this.spec.cleanup?.();
      throw error;
    }
    this.child = child;
    const stderr = child.stderr as Readable;
    this.logDrained = log.pump(stderr);
    try {
      await new Promise<void>((resolve, reject) => {
        child.once("spawn", () => resolve());
        child.once("error", (e) => reject(new Error(`cannot start '${this.spec.command}': ${e.message}`)));
      });
    } catch (error) {
      this.spec.cleanup?.();
      throw error;
    }
    const extra = (this.spec.extraStdio ?? []).flatMap((kind, i) => (kind === "pipe" ? [child.stdio[3 + i] as unknown as Duplex] : []));
    if (extra.length > 0) this.spec.onExtraStreams?.(extra);
    const pgid = child.pid!;
    liveGroups.add(pgid);
    const startTicks = processStartTicks(pgid);
    if (startTicks !== undefined) this.group = { pgid, startTicks };
    child.once("exit", (code, signal) => {
      this.spec.cleanup?.();
      this.exitInfo = { code, signal };
      this.markExited();
      // The leader is gone; kill whatever it left in the group.
      killGroup(pgid, "SIGKILL");
      liveGroups.delete(pgid);
      // Its stderr ends once the group is gone; a process that left the group may hold it open.
      setTimeout(() => stderr.destroy(), STDERR_LINGER_MS).unref();
      this.spec.onExit?.(code, signal);
    });
    const lines = new JsonLinesTransport(child.stdout!, child.stdin!, {
      maxMessageBytes: this.spec.maxMessageBytes,
      onProblem: this.spec.onProblem,
    });
    lines.onmessage = (m) => this.onmessage?.(m);
    lines.onerror = (e) => this.onerror?.(e);
    lines.onclose = () => this.onclose?.();
    this.lines = lines;
    child.stdin!.on("error", () => {
      /* EPIPE when the child died; the exit handler reports it */
    });
    await lines.start();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (!this.lines) throw new Error("process transport not started");
    await this.lines.send(message);
  }

  /** Ends stdin, then SIGTERM to the group, then SIGKILL after a grace period. */
  async close(graceMs = 1500): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await this.lines?.close();
      await this.logDrained;
      return;
    }
    const pgid = child.pid!;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.stdin?.end();
    killGroup(pgid, "SIGTERM");
    const timer = setTimeout(() => killGroup(pgid, "SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
    await this.lines?.close();
    // The tail of stderr (why it failed, often) is in the log before close() returns.
    await this.logDrained;
  }
}
