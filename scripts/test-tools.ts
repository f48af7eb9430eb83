// Heavy tools that only the tests use, kept out of package.json so that no user's `npm install`
// downloads them: the real Claude Code binary (test/e2e/claude-code-hook.test.ts runs the hook
// under it). They are installed, at pinned versions, into <repo>/.cache/test-tools (gitignored).
//
//   node dist/scripts/test-tools.js install   installs what is missing (idempotent; .ci/run calls it)
//   node dist/scripts/test-tools.js where     prints where each tool is, or why it is not usable
//
// Claude Code's npm package is a wrapper whose postinstall copies a native binary out of a
// per-platform package (an optional dependency npm picks by os, cpu and libc). The binary is a
// self-contained executable that needs no Node.js of its own, so the wrapper's script is not run
// (--ignore-scripts) and the binary is taken from the platform package directly.
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const CLAUDE_CODE_PACKAGE = "@anthropic-ai/claude-code";
/** Pinned: a new Claude Code may change how hooks are called; moving this is a deliberate change. */
export const CLAUDE_CODE_VERSION = "2.1.332";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const TEST_TOOLS_DIR = join(ROOT, ".cache", "test-tools");

export type Found = { ok: true; binary: string; version: string } | { ok: false; why: string };

const INSTALL_HINT = "install it with `npm run build && node dist/scripts/test-tools.js install` (.ci/run does)";

/** The platform packages' names end in `<os>-<arch>`, with `-musl` on musl Linux. */
function platformPackages(): string[] {
  const base = `${CLAUDE_CODE_PACKAGE}-${process.platform}-${process.arch}`;
  return process.platform === "linux" ? [base, `${base}-musl`] : [base];
}

/** The pinned Claude Code binary in the cache, checked by running `claude --version`. */
export function findClaudeCode(dir: string = TEST_TOOLS_DIR): Found {
  const names = platformPackages();
  const pkgDir = names.map((n) => join(dir, "node_modules", n)).find((d) => existsSync(join(d, "package.json")));
  if (!pkgDir) return { ok: false, why: `no Claude Code binary for ${process.platform}-${process.arch} in ${dir}: ${INSTALL_HINT}` };
  const installed = (JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as { version?: unknown }).version;
  if (installed !== CLAUDE_CODE_VERSION) return { ok: false, why: `Claude Code ${String(installed)} in ${pkgDir}, the tests pin ${CLAUDE_CODE_VERSION}: ${INSTALL_HINT}` };
  const binary = join(pkgDir, process.platform === "win32" ? "claude.exe" : "claude");
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    return { ok: false, why: `${binary} is missing or not executable: ${INSTALL_HINT}` };
  }
  // No HOME of the user's: `--version` must not read or write anyone's Claude Code state.
  const r = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, HOME: dir } });
  const version = /^(\d+\.\d+\.\d+)/.exec(r.stdout ?? "")?.[1];
  if (r.status !== 0 || version !== CLAUDE_CODE_VERSION) {
    return { ok: false, why: `${binary} --version did not answer ${CLAUDE_CODE_VERSION} (status ${r.status}, ${(r.stdout || r.stderr || String(r.error ?? "")).trim().slice(0, 200)})` };
  }
  return { ok: true, binary, version };
}

/** Installs the pinned tools into `dir` unless they are there already. Throws with npm's output on failure. */
export function installTestTools(dir: string = TEST_TOOLS_DIR): Found {
  const before = findClaudeCode(dir);
  if (before.ok) return before;
  mkdirSync(dir, { recursive: true });
  // A package.json of its own: npm then treats the cache as a project and never walks up to the
  // repository's package.json (whose dependencies must not change).
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "mcp-warden-test-tools", private: true }) + "\n");
  const r = spawnSync(
    "npm",
    ["install", "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", `${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}`],
    { cwd: dir, encoding: "utf8", timeout: 600_000, stdio: ["ignore", "pipe", "pipe"] },
  );
  if (r.status !== 0) throw new Error(`npm install of ${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION} into ${dir} failed (status ${r.status}):\n${r.stdout}${r.stderr}${r.error ?? ""}`);
  const after = findClaudeCode(dir);
  if (!after.ok) throw new Error(`installed ${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}, but: ${after.why}`);
  return after;
}

function main(args: string[]): number {
  const command = args[0] ?? "where";
  if (command === "install") {
    try {
      const found = installTestTools();
      if (found.ok) process.stdout.write(`test tools: Claude Code ${found.version} at ${found.binary}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`test tools: ${(error as Error).message}\nCheck that the npm registry is reachable, then run this again.\n`);
      return 1;
    }
  }
  if (command === "where") {
    const found = findClaudeCode();
    process.stdout.write(found.ok ? `Claude Code ${found.version}: ${found.binary}\n` : `Claude Code: ${found.why}\n`);
    return found.ok ? 0 : 1;
  }
  process.stderr.write("usage: node dist/scripts/test-tools.js install | where\n");
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main(process.argv.slice(2));
