// The floor for any stdio proxy written in Node.js: a process between the client and the server
// that does nothing but pass the messages on. `bytes` copies the bytes both ways; `json` splits the
// stream into lines and parses and re-serializes each message, the least any proxy that looks at a
// message must do. npm run bench measures both in the same rounds as the direct path and the gateway.
//
//   node dist/bench/relay.js bytes|json <command> [args...]
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";

const [mode, command, ...args] = process.argv.slice(2);
if ((mode !== "bytes" && mode !== "json") || !command) {
  process.stderr.write("usage: relay.js bytes|json <command> [args...]\n");
  process.exit(2);
}

const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
child.on("exit", (code) => process.exit(code ?? 1));
process.stdin.on("end", () => child.stdin.end());

/** Every complete line of `from`, parsed and serialized again, written to `to`. */
function relayLines(from: Readable, to: Writable) {
  let rest = "";
  from.setEncoding("utf8");
  from.on("data", (chunk: string) => {
    let text = rest + chunk;
    let out = "";
    for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n")) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      if (line.trim()) out += JSON.stringify(JSON.parse(line)) + "\n";
    }
    rest = text;
    if (out) to.write(out);
  });
}

if (mode === "bytes") {
  process.stdin.pipe(child.stdin);
  child.stdout.pipe(process.stdout);
} else {
  relayLines(process.stdin, child.stdin);
  relayLines(child.stdout, process.stdout);
}
