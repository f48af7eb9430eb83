// The hot path (src/gateway/hot-path.ts) must change nothing a client or an auditor can see. The
// same random sequences of requests, hostile ones included (bad params, unknown and denied tools,
// huge and string ids, duplicate ids, cancellations mid-call, secrets in arguments and results, tool
// errors, junk lines, input rounds), go to two real gateways in front of the same fixture server:
// one with the hot path, one with it off (MCP_WARDEN_HOT_PATH=off). Both must give the same answers
// to every request id and write the same audit records (their time, sequence, hash and duration
// fields and the random ids aside). The sequences come from a seeded generator: a failure names the
// seed, and the same seed replays the same sequence.
import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { describe, test } from "node:test";
import { auditRecords, CLI, FIXTURE, scratch, waitFor, type Scratch } from "./harness.js";
import { call, generate, SECRET, type Step } from "./hot-path-sequences.js";


interface Config {
  name: string;
  protocol: "auto" | "legacy";
  secretArguments: "block" | "off";
  seeds: number[];
}

const CONFIGS: Config[] = [
  // Default secret handling; the upstream leg negotiates its era (2026-07-28 with the fixture).
  { name: "upstream auto, secrets in arguments blocked", protocol: "auto", secretArguments: "block", seeds: [1, 2] },
  // The upstream leg on the 2025 era too (the hot path writes to its pipe directly); secrets in
  // arguments pass, so they come back in results, where they are redacted.
  { name: "upstream legacy, secrets reach results", protocol: "legacy", secretArguments: "off", seeds: [3, 4] },
];

function settingsFor(c: Config): Record<string, unknown> {
  return {
    permissions: {
      allow: ["mcp__fixture__echo", "mcp__fixture__slow", "mcp__fixture__huge", "mcp__fixture__garbage", "mcp__fixture__confirm"],
      deny: ["mcp__fixture__delete_repo"],
    },
    mcpServers: { fixture: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_SECRET: SECRET }, ...(c.protocol === "legacy" ? { protocol: "legacy" } : {}) } },
    secretScanning: { arguments: c.secretArguments },
    integrity: { maxResultBytes: 4096, stripControlCharacters: true },
  };
}

// ---- one gateway, driven line by line ----------------------------------------------------------

/** A client on raw JSON lines that declares elicitation and answers the gateway's requests. */
class Peer {
  readonly answers = new Map<string, string[]>();
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = "";
  private readonly exited: Promise<void>;
  stderr = "";

  constructor(
    s: Scratch,
    env: Record<string, string>,
    readonly label: string,
  ) {
    this.child = spawn(process.execPath, [CLI, "run", "--settings", s.settingsFile], { cwd: s.project, env: { ...s.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
    this.child.stderr.on("data", (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout.on("data", (d: Buffer) => {
      this.buffer += d.toString();
      for (let nl = this.buffer.indexOf("\n"); nl >= 0; nl = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (line.trim()) this.receive(JSON.parse(line) as Record<string, unknown>);
      }
    });
  }

  private receive(m: Record<string, unknown>) {
    if (typeof m.method === "string") {
      // The gateway asks: the fixture's own question is accepted, the gateway's approval declined.
      // Notifications are not compared.
      if (m.id === undefined) return;
      const message = String((m.params as { message?: unknown } | undefined)?.message ?? "");
      const result =
        m.method === "elicitation/create"
          ? message.includes("Proceed?")
            ? { action: "accept", content: { ok: true } }
            : { action: "decline" }
          : m.method === "roots/list"
            ? { roots: [] }
            : m.method === "ping"
              ? {}
              : undefined;
      this.write(JSON.stringify(result ? { jsonrpc: "2.0", id: m.id, result } : { jsonrpc: "2.0", id: m.id, error: { code: -32601, message: "not supported by this client" } }));
      return;
    }
    const key = JSON.stringify(m.id ?? null);
    this.answers.set(key, [...(this.answers.get(key) ?? []), normalizeText(JSON.stringify(m))]);
  }

  write(text: string) {
    this.child.stdin.write(text + "\n");
  }

  async handshake() {
    this.write(JSON.stringify({ jsonrpc: "2.0", id: "init", method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: { elicitation: { form: {} } }, clientInfo: { name: "differential", version: "1" } } }));
    await waitFor("the initialize answer", () => this.answers.has('"init"'), 30_000);
    this.write(JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" }));
    // A first call through the SDK's own handling of the handshake's end, before the sequence.
    this.write(call("warm", "fixture__echo", { text: "warm" }));
    await waitFor("the first answer", () => this.answers.has('"warm"'), 30_000);
  }

  async run(steps: Step[]) {
    for (const step of steps) {
      this.write(step.lines.join("\n"));
      if (step.later) {
        const { afterMs, line } = step.later;
        await new Promise((resolve) => setTimeout(resolve, afterMs));
        this.write(line);
      }
      for (const id of step.await) {
        await waitFor(`the answer to ${JSON.stringify(id)}`, () => this.answers.has(JSON.stringify(id)), 20_000).catch((e: Error) => {
          throw new Error(`${this.label}: ${e.message}, after writing:\n${step.lines.join("\n").slice(0, 2000)}\nstderr: ${this.stderr.slice(-2000)}`);
        });
      }
    }
    // Slow calls and cancelled ones: long enough for any answer that could still come (the slowest call takes 1.5 s).
    await new Promise((resolve) => setTimeout(resolve, 2500));
  }

  /** Ends stdin (the gateway then stops and writes its last records); SIGKILL after 10 s. */
  async close() {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

// ---- comparing ---------------------------------------------------------------------------------

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** What differs between two runs for reasons of their own: random ids, the scratch directory, pids. */
function normalizeText(text: string): string {
  return text.replace(UUID, "<uuid>").replace(/\/tmp\/warden-e2e-[A-Za-z0-9]+/g, "<dir>");
}

const IGNORED = new Set(["time", "seq", "hash", "prev", "durationMs"]);

/** An audit record without what differs between runs; records that describe the process itself are left out. */
function normalizeRecord(r: Record<string, unknown>): string | undefined {
  if (r.kind === "gateway") return undefined;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) if (!IGNORED.has(k)) copy[k] = v;
  if (typeof copy.id === "string") copy.id = "<call>";
  const detail = copy.detail as Record<string, unknown> | undefined;
  if (detail) copy.detail = Object.fromEntries(Object.entries(detail).filter(([k]) => k !== "waitedMs" && k !== "pid" && k !== "approval"));
  return normalizeText(JSON.stringify(copy));
}

function sorted(records: Record<string, unknown>[]): string[] {
  return records.flatMap((r) => normalizeRecord(r) ?? []).sort();
}

function sameAnswers(hot: Map<string, string[]>, sdk: Map<string, string[]>, seed: number) {
  const ids = [...new Set([...hot.keys(), ...sdk.keys()])].sort();
  for (const id of ids) {
    assert.deepEqual((hot.get(id) ?? []).slice().sort(), (sdk.get(id) ?? []).slice().sort(), `seed ${seed}: the answers to id ${id} differ between the hot path and the SDK path`);
  }
}

/** The records of one run, once the gateway has exited (its last outcomes are written at close). */
function recordsOf(s: Scratch): Record<string, unknown>[] {
  return auditRecords(s);
}

describe("the hot path against the SDK path (differential)", () => {
  for (const config of CONFIGS) {
    for (const seed of config.seeds) {
      test(`${config.name}: seed ${seed}, the same answers and audit records`, { timeout: 240_000 }, async () => {
        const steps = generate(seed, 70);
        const sHot = scratch(settingsFor(config));
        const sSdk = scratch(settingsFor(config));
        const hot = new Peer(sHot, {}, "hot path");
        const sdk = new Peer(sSdk, { MCP_WARDEN_HOT_PATH: "off" }, "SDK path");
        try {
          await Promise.all([hot.handshake(), sdk.handshake()]);
          await Promise.all([hot.run(steps), sdk.run(steps)]);
          await Promise.all([hot.close(), sdk.close()]);
          sameAnswers(hot.answers, sdk.answers, seed);
          // The sequence must have reached the tools at all (not only errors of a broken start).
          assert.ok([...hot.answers.values()].flat().some((a) => a.includes("echo: hello")), `seed ${seed}: no echo came back: ${hot.stderr}`);
          const a = sorted(recordsOf(sHot));
          const b = sorted(recordsOf(sSdk));
          assert.ok(a.some((r) => r.includes('"event":"completed"')), `seed ${seed}: no call was audited`);
          assert.deepEqual(a, b, `seed ${seed}: the audit records differ between the hot path and the SDK path`);
        } finally {
          await Promise.all([hot.close().catch(() => undefined), sdk.close().catch(() => undefined)]);
          sHot.cleanup();
          sSdk.cleanup();
        }
      });
    }
  }
});
