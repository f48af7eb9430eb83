// The in-sandbox end of the egress channel. Inside the sandbox there is only loopback. Under
// bubblewrap the sandbox inherits one connected stream (fd 3) whose other end is the gateway's
// egress proxy; a container cannot inherit a descriptor through `docker run -i` (and may not make
// Unix sockets: its seccomp profile refuses them), so there the bridge opens two named pipes in a
// directory bind-mounted into the container (--fifo-in PATH --fifo-out PATH; fifo-protocol.ts) and
// speaks the same multiplexed protocol over them. The bridge listens on 127.0.0.1:<port>, opens one
// mux stream per accepted TCP connection, and relays bytes; the command it starts sees an ordinary
// local HTTP/SOCKS5 proxy in HTTP_PROXY, HTTPS_PROXY and ALL_PROXY. It judges nothing: every
// decision is the proxy's.
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { constants as osConstants } from "node:os";
import type { Duplex } from "node:stream";
import { expectPreamble, FIFO_ACK, FIFO_HELLO, fifoStream, PipePair } from "./fifo-protocol.js";
import { Mux, splice } from "./mux.js";

export interface BridgeArgs {
  /** The inherited channel's descriptor; undefined (and no pipes): no network, the command just runs. */
  fd?: number;
  /** Containers: the named pipes to the proxy instead of an inherited descriptor (read, write). */
  fifos?: { in: string; out: string };
  /** Loopback port to listen on (0: any free port). */
  port: number;
  command: string;
  args: string[];
}

/** Parses `[--fd N | --fifo-in PATH --fifo-out PATH] --port N -- CMD ARGS...`. Throws with a usage message. */
export function parseBridgeArgs(argv: string[]): BridgeArgs {
  let fd: number | undefined;
  let fifoIn: string | undefined;
  let fifoOut: string | undefined;
  let port: number | undefined;
  let i = 0;
  const int = (flag: string, v: string | undefined, max: number): number => {
    if (v === undefined || !/^\d{1,5}$/.test(v) || Number(v) > max) throw new Error(`${flag} needs an integer from 0 to ${max}`);
    return Number(v);
  };
  const absolute = (flag: string, v: string | undefined): string => {
    if (v === undefined || !v.startsWith("/")) throw new Error(`${flag} needs an absolute path`);
    return v;
  };
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      i++;
      break;
    }
    if (a === "--fd") fd = int("--fd", argv[++i], 65535);
    else if (a === "--port") port = int("--port", argv[++i], 65535);
    else if (a === "--fifo-in") fifoIn = absolute("--fifo-in", argv[++i]);
    else if (a === "--fifo-out") fifoOut = absolute("--fifo-out", argv[++i]);
    else throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
  const command = argv[i];
  if (command === undefined || command === "") throw new Error("no command after --");
  if (fd !== undefined && fd < 3) throw new Error("--fd must be 3 or more (0-2 are the command's stdio)");
  if ((fifoIn === undefined) !== (fifoOut === undefined)) throw new Error("--fifo-in and --fifo-out go together");
  const fifos = fifoIn !== undefined && fifoOut !== undefined ? { in: fifoIn, out: fifoOut } : undefined;
  if (fd !== undefined && fifos !== undefined) throw new Error("--fd and --fifo-in/--fifo-out exclude each other");
  if ((fd !== undefined || fifos !== undefined) && port === undefined) throw new Error(`--port is required with ${fd !== undefined ? "--fd" : "--fifo-in/--fifo-out"}`);
  return { ...(fd !== undefined ? { fd } : {}), ...(fifos !== undefined ? { fifos } : {}), port: port ?? 0, command, args: argv.slice(i + 1) };
}

/** What the command's environment gains: every proxy variable, in both cases, pointing at the bridge. */
export function proxyEnv(port: number): Record<string, string> {
  const http = `http://127.0.0.1:${port}`;
  const socks = `socks5h://127.0.0.1:${port}`;
  return {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    ALL_PROXY: socks,
    http_proxy: http,
    https_proxy: http,
    all_proxy: socks,
    // Nothing bypasses the proxy (there is no other way out anyway).
    NO_PROXY: "",
    no_proxy: "",
    // Node 24+ makes fetch and http honour the variables above only when asked to.
    NODE_USE_ENV_PROXY: "1",
  };
}

export interface Bridge {
  /** The port actually listened on. */
  port: number;
  mux: Mux;
  /** Stops listening and tears the channel down. */
  close(): void;
}

/**
 * Listens on 127.0.0.1:`port` and relays every accepted connection over `channel` as a mux stream.
 * Resolves once listening, so a command started afterwards never races the bind.
 */
export function startBridge(channel: Duplex, port: number, options: { maxStreams?: number } = {}): Promise<Bridge> {
  const mux = new Mux(channel, { role: "initiator", maxStreams: options.maxStreams });
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on("error", () => {});
    let stream;
    try {
      stream = mux.open();
    } catch {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setNoDelay(true);
    stream.on("error", () => {});
    splice(socket, stream);
  });
  const close = () => {
    server.close();
    for (const s of sockets) s.destroy();
    mux.close();
  };
  mux.once("close", () => {
    server.close();
    for (const s of sockets) s.destroy();
  });
  return new Promise<Bridge>((resolve, reject) => {
    server.once("error", (err) => {
      mux.close();
      reject(err);
    });
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const address = server.address() as net.AddressInfo;
      resolve({ port: address.port, mux, close });
    });
  });
}

/**
 * Opens the proxy's pipes (fifo-protocol.ts): the one to write first, which fails at once (ENXIO)
 * when the gateway does not hold its end; then greets and waits for the gateway's answer, after
 * which the pipes are gone from the directory. Resolves with the channel.
 */
export async function connectFifos(fifos: { in: string; out: string }, timeoutMs = 10_000): Promise<Duplex> {
  const writeFd = openSync(fifos.out, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  let readFd: number;
  try {
    readFd = openSync(fifos.in, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    closeSync(writeFd);
    throw err;
  }
  const output = fifoStream(writeFd, "write");
  const input = fifoStream(readFd, "read");
  output.on("error", () => {});
  output.write(FIFO_HELLO);
  try {
    await expectPreamble(input, FIFO_ACK, "answer", timeoutMs);
  } catch (err) {
    input.destroy();
    output.destroy();
    throw err;
  }
  output.removeAllListeners("error");
  return new PipePair(input, output);
}

/** Why the proxy's pipes could not be used, and what to do. */
export function fifoFailure(fifos: { in: string; out: string }, err: NodeJS.ErrnoException): string {
  const base = `cannot open the egress proxy's channel (${fifos.out}, ${fifos.in}): ${err.code ?? err.message}`;
  if (err.code === "EPERM" || err.code === "EACCES" || err.code === "EROFS")
    return `${base}. Under gVisor (runsc) a container may only open a host named pipe with the runtime flag --host-fifo=open: with docker, add "--host-fifo=open" to the runsc runtime's runtimeArgs in daemon.json and restart dockerd (podman gets it from mcp-warden); otherwise check that the container's user may open the pipes`;
  if (err.code === "ENXIO") return `${base}; the gateway does not hold the channel's other end (it stopped, or the pipes belong to another launch)`;
  return `${base}; the gateway may have stopped, or the channel's directory is not mounted into the container`;
}

/** The exit status a shell would report: the code, or 128 + the signal's number. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

export interface RunOptions {
  /** Where diagnostics go (never stdout: that is the command's MCP stream). */
  log?: (message: string) => void;
  /** Grace period between SIGTERM and SIGKILL when the channel dies under a running command. */
  killAfterMs?: number;
}

/**
 * The bridge program: binds, starts the command with stdio 0-2 inherited and the proxy
 * environment, and resolves with the status to exit with. The channel's descriptor is not passed
 * on (stdio has three entries, and libuv opens inherited sockets close-on-exec).
 */
export async function runBridge(argv: string[], options: RunOptions = {}): Promise<number> {
  const log = options.log ?? ((m: string) => process.stderr.write(`mcp-warden bridge: ${m}\n`));
  let parsed: BridgeArgs;
  try {
    parsed = parseBridgeArgs(argv);
  } catch (err) {
    log(`${(err as Error).message}\nusage: bridge-main [--fd N --port N | --fifo-in PATH --fifo-out PATH --port N] -- COMMAND [ARGS...]`);
    return 2;
  }

  let bridge: Bridge | undefined;
  let env: NodeJS.ProcessEnv = { ...process.env };
  if (parsed.fd !== undefined || parsed.fifos !== undefined) {
    let channel: Duplex;
    try {
      channel = parsed.fifos !== undefined ? await connectFifos(parsed.fifos) : new net.Socket({ fd: parsed.fd, readable: true, writable: true });
    } catch (err) {
      log(parsed.fifos !== undefined ? fifoFailure(parsed.fifos, err as NodeJS.ErrnoException) : `cannot use fd ${parsed.fd}: ${(err as Error).message}`);
      return 1;
    }
    channel.on("error", () => {});
    try {
      bridge = await startBridge(channel, parsed.port);
    } catch (err) {
      log(`cannot listen on 127.0.0.1:${parsed.port}: ${(err as Error).message}`);
      channel.destroy();
      return 1;
    }
    env = { ...env, ...proxyEnv(bridge.port) };
  }

  return new Promise<number>((resolve) => {
    let child: ChildProcess;
    let settled = false;
    const done = (status: number) => {
      if (settled) return;
      settled = true;
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      process.off("SIGHUP", onSignal);
      bridge?.close();
      resolve(status);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      child?.kill(signal);
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    process.on("SIGHUP", onSignal);
    try {
      child = spawn(parsed.command, parsed.args, { stdio: ["inherit", "inherit", "inherit"], env });
    } catch (err) {
      log(`cannot start ${parsed.command}: ${(err as Error).message}`);
      done(127);
      return;
    }
    child.on("error", (err: NodeJS.ErrnoException) => {
      log(`cannot start ${parsed.command}: ${err.message}`);
      done(err.code === "EACCES" ? 126 : 127);
    });
    child.on("exit", (code, signal) => done(exitStatus(code, signal)));
    // The gateway went away (or broke the protocol): without the channel the command has no
    // network and no one to answer to, so it is stopped and the bridge exits.
    bridge?.mux.once("close", (err) => {
      if (settled) return;
      log(`egress channel closed${err ? `: ${err.message}` : ""}; stopping the command`);
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 3000);
      t.unref();
      child.once("exit", () => clearTimeout(t));
    });
  });
}
