// The stdio floor driven the way autocannon drives the HTTP targets: a prepared tools/call written as
// one JSON line with a fresh id, exactly `inflight` outstanding, for a fixed time; a response counts
// when it carries the echo. No SDK on the client side, so the load generator costs about what
// autocannon does per call, and the server's own cost is what limits the rate.
import { spawn } from "node:child_process";
import { EXPECTED, MESSAGE, UPSTREAM_ARGV, cpuOf, type LoadSample } from "./http-targets.js";

export interface StdioServer {
  pid: number;
  /** `inflight` calls outstanding for `seconds`. */
  load(inflight: number, seconds: number): Promise<LoadSample>;
  /** `n` calls one after another, each timed (µs). */
  sequential(n: number): Promise<number[]>;
  stop(): Promise<void>;
}

export async function startStdioServer(): Promise<StdioServer> {
  const child = spawn(UPSTREAM_ARGV[0]!, UPSTREAM_ARGV.slice(1), { stdio: ["pipe", "pipe", "ignore"], env: { PATH: process.env.PATH } });
  let onLine: (line: string) => void = () => undefined;
  let buf = "";
  child.stdout!.setEncoding("utf8").on("data", (d: string) => {
    buf += d;
    for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      onLine(line);
    }
  });
  const send = (msg: unknown) => child.stdin!.write(`${JSON.stringify(msg)}\n`);
  const initialized = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("server-everything (stdio) did not answer initialize within 20 s")), 20_000);
    onLine = (line) => {
      if (!line.includes('"id":0')) return;
      clearTimeout(timer);
      resolve();
    };
  });
  send({ jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "warden-bench-stdio-load", version: "1.0.0" } } });
  await initialized;
  send({ jsonrpc: "2.0", method: "notifications/initialized" });
  const prefix = `{"jsonrpc":"2.0","method":"tools/call","params":{"name":"echo","arguments":{"message":${JSON.stringify(MESSAGE)}}},"id":`;
  let nextId = 1;

  return {
    pid: child.pid!,
    async sequential(n) {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        const id = nextId++;
        const t0 = process.hrtime.bigint();
        await new Promise<void>((resolve, reject) => {
          onLine = (line) => {
            if (!new RegExp(`"id":${id}[,}]`).test(line)) return;
            if (line.includes(EXPECTED)) resolve();
            else reject(new Error(`server-everything (stdio) answered ${line.slice(0, 300)}`));
          };
          child.stdin!.write(`${prefix}${id}}\n`);
        });
        times.push(Number(process.hrtime.bigint() - t0) / 1000);
      }
      return times;
    },
    load(inflight, seconds) {
      return new Promise((resolve) => {
        let calls = 0;
        let failed = 0;
        let stopping = false;
        let outstanding = 0;
        const lat: number[] = [];
        const started = new Map<number, bigint>();
        const before = cpuOf([child.pid!]);
        const t0 = process.hrtime.bigint();
        const fire = () => {
          const id = nextId++;
          started.set(id, process.hrtime.bigint());
          outstanding++;
          child.stdin!.write(`${prefix}${id}}\n`);
        };
        const finish = () => {
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          const after = cpuOf([child.pid!]);
          lat.sort((a, b) => a - b);
          const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
          resolve({
            connections: inflight,
            seconds: secs,
            calls,
            perSecond: calls / secs,
            p50Ms: q(0.5),
            p99Ms: q(0.99),
            failed,
            ...(before !== undefined && after !== undefined && calls ? { cpuFrontUs: (after - before) / calls } : {}),
          });
        };
        onLine = (line) => {
          const m = /"id":(\d+)[,}]/.exec(line);
          const id = m ? Number(m[1]) : NaN;
          const t = started.get(id);
          if (t === undefined) return;
          started.delete(id);
          outstanding--;
          if (line.includes(EXPECTED)) {
            calls++;
            lat.push(Number(process.hrtime.bigint() - t) / 1e6);
          } else failed++;
          if (!stopping && Number(process.hrtime.bigint() - t0) / 1e9 < seconds) fire();
          else {
            stopping = true;
            if (outstanding === 0) finish();
          }
        };
        for (let i = 0; i < inflight; i++) fire();
      });
    },
    async stop() {
      child.stdin!.end();
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      child.kill("SIGTERM");
      await exited;
      clearTimeout(timer);
    },
  };
}
