// `allowExecute: false` (or a list): the server cannot start other programs. bubblewrap cannot make a
// mount noexec and a seccomp filter loaded by bwrap would also stop the server's own exec, so the
// sandbox's file system view is what enforces it: it holds the server's runtime (its ELF binary, the
// loader and the exact shared libraries it links, each bound as a single file), the server's package,
// the listed programs, /etc, and no /usr, /bin or /lib directories. A shell, `id`, `curl` do not exist.
//
// Limits, said in the README: the runtime itself can be started again (node can run node); a program
// the server ships in its own package, or writes to a writable path (/tmp, allowWrite), can be run,
// since nothing here can mark a mount noexec. It still runs inside the same sandbox.
import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { codeRootOf, packageRootOf, resolveHostPath, within, type ResolvedPath } from "./bwrap-paths.js";

/** Package runners: they fetch a package and start it through other programs (a shell, node). */
const PACKAGE_RUNNERS = new Set(["npx", "npm", "pnpm", "pnpx", "yarn", "bunx", "bun", "uvx", "uv", "pipx", "corepack"]);

/**
 * Why a server's command cannot run without starting other programs, or undefined. Pure: judged by
 * the command's name, so `check`, `status` and the gateway say the same before anything starts.
 */
export function packageRunnerRefusal(server: string, command: string, args: readonly string[]): string | undefined {
  const name = basename(command);
  if (!PACKAGE_RUNNERS.has(name)) return undefined;
  const pkg = args.find((a) => !a.startsWith("-") && a !== "exec" && a !== "dlx" && a !== "x") ?? "PACKAGE";
  return (
    `server '${server}' is not started: its sandbox has allowExecute false, and '${name}' fetches ${pkg} and starts it through other programs ` +
    `(a shell, node), which that sandbox does not let it start. Resolve the package ahead of time: install it (for example ` +
    `npm install --prefix ~/.local/share/mcp-servers/${server} ${pkg}), then set the server's command to the node binary ` +
    `and its args to the package's entry file (the "bin" of its package.json)`
  );
}

interface ElfInfo {
  /** PT_INTERP: the dynamic loader, or undefined for a static binary. */
  interpreter?: string;
}

/** Reads a file's ELF program headers; undefined when it is not a 64-bit little-endian ELF (a script, ...). */
export function readElf(file: string): ElfInfo | undefined {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) < 64) return undefined;
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return undefined;
    const phoff = Number(head.readBigUInt64LE(0x20));
    const phentsize = head.readUInt16LE(0x36);
    const phnum = head.readUInt16LE(0x38);
    if (phentsize < 56 || phnum > 256) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    if (readSync(fd, table, 0, table.length, phoff) < table.length) return undefined;
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      if (table.readUInt32LE(at) !== 3) continue; // PT_INTERP
      const offset = Number(table.readBigUInt64LE(at + 8));
      const size = Number(table.readBigUInt64LE(at + 32));
      if (size < 2 || size > 4096) return undefined;
      const buf = Buffer.alloc(size);
      readSync(fd, buf, 0, size, offset);
      return { interpreter: buf.toString("latin1").replace(/\0.*$/s, "") };
    }
    return {};
  } finally {
    closeSync(fd);
  }
}

/** Where a system loader may live: a binary naming another one is refused (its loader could be anything). */
const LOADER_DIRS = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/lib32", "/usr/lib32"];

/** A path with its directory resolved and its last component kept: the spelling the loader opens. */
function bindable(p: string): string {
  return join(resolveHostPath(dirname(p)).path, basename(p));
}

/**
 * The files a program needs to run: itself, its loader and the shared libraries it links (as the
 * system loader lists them, `ld.so --list`, which loads no code of the program). Throws (fail closed)
 * for a script, an unknown loader, or a loader that cannot list.
 */
export function runtimeFiles(program: string, what: string): string[] {
  const real = resolveHostPath(program).path;
  const elf = readElf(real);
  if (elf === undefined)
    throw new Error(
      `sandbox: ${what} (${program}) is not a binary program (a script?): with allowExecute false it could not start its interpreter; set the command to the interpreter (for example the node binary) and pass the script as its argument`,
    );
  // The program under the name it is started by too (/usr/bin/sh, a link to dash): bound at its real
  // path, with the name recreated as a link to it.
  const named = bindable(program.startsWith("/") ? program : real);
  if (elf.interpreter === undefined) return [...new Set([real, named])];
  const loader = elf.interpreter;
  if (!loader.startsWith("/") || !LOADER_DIRS.some((d) => within(resolveHostPath(dirname(loader)).path, resolveHostPath(d).path)))
    throw new Error(`sandbox: ${what} (${program}) names the loader ${JSON.stringify(loader)}, outside the system library directories; allowExecute false cannot be honoured for it`);
  const r = spawnSync(loader, ["--list", real], { env: {}, encoding: "utf8", timeout: 5000, stdio: ["ignore", "pipe", "pipe"] });
  if (r.error || r.status !== 0) throw new Error(`sandbox: cannot list the libraries of ${what} (${program}): ${r.error?.message ?? r.stderr.trim()}`);
  const files = new Set([real, named, bindable(loader)]);
  for (const line of r.stdout.split("\n")) {
    const m = /=>\s*(\/\S+)\s*\(/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line);
    if (m) files.add(bindable(m[1] as string));
    else if (/=>\s*not found/.test(line)) throw new Error(`sandbox: ${what} (${program}) needs a library that is not found: ${line.trim()}`);
  }
  return [...files];
}

/**
 * What the server's script (`node server.js`: the first argument that is not an option) needs
 * readable when nothing else is: its package, or for a file in a node_modules tree that tree (the
 * dependencies sit beside it), and a node_modules the package links to elsewhere.
 */
export function scriptNeeds(args: readonly string[], cwd: string, home: string): { what: string; file: string; dir: string }[] {
  const script = args.find((a) => !a.startsWith("-"));
  let file: ResolvedPath | undefined;
  try {
    if (script !== undefined) file = resolveHostPath(resolve(cwd, script));
  } catch {
    return []; // Not a path (inline code, a name too long).
  }
  if (!file?.exists || file.kind !== "file") return [];
  const root = file.path.includes("/node_modules/") ? codeRootOf(file.path) : packageRootOf(file.path, home);
  const out = [{ what: "the server's script", file: file.path, dir: root }];
  const modules = resolveHostPath(join(root, "node_modules"));
  if (modules.exists && modules.kind === "dir" && !within(modules.path, root)) out.push({ what: "the server's dependencies", file: modules.path, dir: modules.path });
  return out;
}

/** The binary programs an allowExecute list names: its files, and the files directly in its directories (at most 256 each). */
export function programsListed(execute: false | string[] | undefined): string[] {
  const out: string[] = [];
  for (const p of Array.isArray(execute) ? execute : []) {
    const r = resolveHostPath(p);
    if (r.kind === "file" && readElf(r.path) !== undefined) out.push(bindable(p));
    else if (r.kind === "dir")
      for (const name of readdirSync(r.path).slice(0, 256)) {
        const f = resolveHostPath(join(r.path, name));
        if (f.kind === "file" && readElf(f.path) !== undefined) out.push(join(r.path, name));
      }
  }
  return out;
}
