// The floor of any MCP HTTP front written in Node.js: a node:http server that passes each posted
// JSON-RPC message to one stdio upstream and posts the answer back, and does nothing else. Per POST:
// the body is parsed, its id remapped (so that concurrent clients cannot collide), written as one JSON
// line to the upstream; the upstream's answer with that id is re-serialized with the client's id and
// sent as 200 application/json. A notification (no id) is written and answered 202. `initialize` gets
// an Mcp-Session-Id header (2025-era clients need one; all sessions share the upstream). No checks, no
// auth, no SSE (GET and anything else: 405); what the upstream sends unasked is dropped. bench/serve.ts
// measures `mcp-warden serve` against it as its relay floor, as bench/relay.ts is the stdio one.
//
//   node dist/bench/http-relay.js <port|0> <command> [args...]
// listens on 127.0.0.1 and prints its URL (http://127.0.0.1:<port>/mcp; any path is served) on stdout.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer, type OutgoingHttpHeaders, type ServerResponse } from "node:http";

const [portArg, command, ...args] = process.argv.slice(2);
if (!portArg || !/^\d+$/.test(portArg) || !command) {
  process.stderr.write("usage: http-relay.js <port|0> <command> [args...]\n");
  process.exit(2);
}

const upstream = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
upstream.on("exit", (code) => process.exit(code ?? 1));
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.on(signal, () => {
    upstream.kill("SIGTERM");
    process.exit(0);
  });
}

type JsonRpcId = string | number;
interface Message {
  id?: JsonRpcId | null;
  method?: unknown;
}
/** A request sent upstream, waiting for its answer: whom to answer, with which id. */
interface Waiting {
  res: ServerResponse;
  clientId: JsonRpcId;
  /** Set for `initialize`: the session id its answer carries. */
  session?: string;
}
const waiting = new Map<number, Waiting>();
let nextUpstreamId = 1;

function answer(msg: Message): void {
  // Only responses to our requests have a number id and no method; the rest has nowhere to go without SSE.
  if (typeof msg.id !== "number" || msg.method !== undefined) return;
  const w = waiting.get(msg.id);
  if (!w) return;
  waiting.delete(msg.id);
  msg.id = w.clientId;
  const body = JSON.stringify(msg);
  const headers: OutgoingHttpHeaders = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  if (w.session) headers["mcp-session-id"] = w.session;
  w.res.writeHead(200, headers).end(body);
}

let pending = "";
upstream.stdout.setEncoding("utf8");
upstream.stdout.on("data", (chunk: string) => {
  const text = pending + chunk;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
    const line = text.slice(start, nl);
    start = nl + 1;
    if (line.trim()) answer(JSON.parse(line) as Message);
  }
  pending = text.slice(start);
});

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405, { allow: "POST" }).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let msg: Message;
    try {
      msg = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Message;
    } catch {
      res.writeHead(400).end();
      return;
    }
    if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
      res.writeHead(400).end();
      return;
    }
    if (msg.id === undefined || msg.id === null) {
      upstream.stdin.write(JSON.stringify(msg) + "\n");
      res.writeHead(202).end();
      return;
    }
    const upstreamId = nextUpstreamId++;
    const w: Waiting = { res, clientId: msg.id };
    if (msg.method === "initialize") w.session = randomUUID();
    waiting.set(upstreamId, w);
    // A client that goes away leaves nothing behind when its answer comes.
    res.once("close", () => waiting.delete(upstreamId));
    msg.id = upstreamId;
    upstream.stdin.write(JSON.stringify(msg) + "\n");
  });
});
server.listen(Number(portArg), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : Number(portArg);
  process.stdout.write(`http://127.0.0.1:${port}/mcp\n`);
});
