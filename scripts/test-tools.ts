// Heavy tools that only the tests use, kept out of package.json so that no user's `npm install`
// downloads them: the real Claude Code binary (test/e2e/claude-code-hook.test.ts runs the hook
// under it) and the MCP Inspector's CLI, a third-party MCP client (test/e2e/init-first-run.test.ts
// drives the gateway through it). They are installed, at pinned versions, into
// <repo>/.cache/test-tools (gitignored); the Inspector in a directory of its own, `inspector/`, so
// that neither npm install prunes the other's packages; Node 22 and the tools that need it in `node22/`.
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

export const INSPECTOR_PACKAGE = "@modelcontextprotocol/inspector";
/**
 * Pinned: the CLI's flags and output are what the test reads. (Its package.json asks for Node 22;
 * its `--cli` mode runs on the Node 20 this project supports, which the test shows.)
 */
export const INSPECTOR_VERSION = "2.12.0";

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

/**
 * The pinned MCP Inspector in the cache, checked by running `mcp-inspector --version`. `binary` is
 * its launcher script, to run with node (`node <binary> --cli ...`).
 */
export function findInspector(dir: string = TEST_TOOLS_DIR): Found {
  const pkgDir = join(dir, "inspector", "node_modules", ...INSPECTOR_PACKAGE.split("/"));
  let pkg: { version?: unknown; bin?: unknown };
  try {
    pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as typeof pkg;
  } catch {
    return { ok: false, why: `no MCP Inspector in ${join(dir, "inspector")}: ${INSTALL_HINT}` };
  }
  if (pkg.version !== INSPECTOR_VERSION) return { ok: false, why: `MCP Inspector ${String(pkg.version)} in ${pkgDir}, the tests pin ${INSPECTOR_VERSION}: ${INSTALL_HINT}` };
  const bin = typeof pkg.bin === "object" && pkg.bin !== null ? (pkg.bin as Record<string, unknown>)["mcp-inspector"] : undefined;
  if (typeof bin !== "string") return { ok: false, why: `${pkgDir}/package.json names no mcp-inspector command` };
  const binary = join(pkgDir, bin);
  // No HOME of the user's: the Inspector keeps a catalog under ~/.mcp-inspector.
  const r = spawnSync(process.execPath, [binary, "--version"], { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH, HOME: dir } });
  const version = /^(\d+\.\d+\.\d+)/.exec((r.stdout ?? "").trim())?.[1];
  if (r.status !== 0 || version !== INSPECTOR_VERSION) {
    return { ok: false, why: `${binary} --version did not answer ${INSPECTOR_VERSION} (status ${r.status}, ${(r.stdout || r.stderr || String(r.error ?? "")).trim().slice(0, 200)})` };
  }
  return { ok: true, binary, version };
}

// Node 22 and what runs on it: oidc-provider (a real OpenID provider that issues the JWT access
// tokens test/e2e/auth-oidc.test.ts verifies) and the MCP conformance suite both want Node >= 22,
// while this project supports Node 20. The npm package node-<os>-<arch> ships a Node binary, so
// the three are installed together, pinned, into node22/ (one npm install: a second would prune the first).
export const NODE22_VERSION = "22.23.5";
export const OIDC_PROVIDER_VERSION = "9.13.3";
export const CONFORMANCE_PACKAGE = "@modelcontextprotocol/conformance";
export const CONFORMANCE_VERSION = "0.1.16";
const NODE22_DIR = "node22";

// Playwright's driver library (no browsers: the tests drive Debian's chromium-headless-shell, which
// .ci/run installs), for the console's browser test (test/e2e/console-browser.test.ts). Its own
// directory, `playwright/`, like the Inspector's.
export const PLAYWRIGHT_PACKAGE = "playwright-core";
/** Pinned: its API is what the console test calls. */
export const PLAYWRIGHT_VERSION = "1.65.2";
const PLAYWRIGHT_DIR = "playwright";

/** The pinned playwright-core in the cache; `binary` is its module entry, to import(). */
export function findPlaywright(dir: string = TEST_TOOLS_DIR): Found {
  const base = join(dir, PLAYWRIGHT_DIR);
  const installed = installedVersion(base, PLAYWRIGHT_PACKAGE);
  if (installed === undefined) return { ok: false, why: `no ${PLAYWRIGHT_PACKAGE} in ${base}: ${INSTALL_HINT}` };
  if (installed !== PLAYWRIGHT_VERSION) return { ok: false, why: `${PLAYWRIGHT_PACKAGE} ${installed} in ${base}, the tests pin ${PLAYWRIGHT_VERSION}: ${INSTALL_HINT}` };
  const entry = join(base, "node_modules", PLAYWRIGHT_PACKAGE, "index.js");
  if (!existsSync(entry)) return { ok: false, why: `${entry} is missing: ${INSTALL_HINT}` };
  return { ok: true, binary: entry, version: installed };
}

function node22Package(): string {
  return `node-${process.platform}-${process.arch}`;
}

/** A package's version in `<dir>/node_modules/<name>`, or undefined when it is not there. */
function installedVersion(dir: string, name: string): string | undefined {
  try {
    const v = (JSON.parse(readFileSync(join(dir, "node_modules", ...name.split("/"), "package.json"), "utf8")) as { version?: unknown }).version;
    return typeof v === "string" ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The pinned Node 22 binary, checked by running `node --version`. */
export function findNode22(dir: string = TEST_TOOLS_DIR): Found {
  const base = join(dir, NODE22_DIR);
  const name = node22Package();
  const installed = installedVersion(base, name);
  if (installed === undefined) return { ok: false, why: `no Node ${NODE22_VERSION} (npm package ${name}) in ${base}: ${INSTALL_HINT}` };
  if (installed !== NODE22_VERSION) return { ok: false, why: `${name} ${installed} in ${base}, the tests pin ${NODE22_VERSION}: ${INSTALL_HINT}` };
  const binary = join(base, "node_modules", name, "bin", "node");
  const r = spawnSync(binary, ["--version"], { encoding: "utf8", timeout: 30_000, env: { PATH: process.env.PATH } });
  if (r.status !== 0 || (r.stdout ?? "").trim() !== `v${NODE22_VERSION}`) {
    return { ok: false, why: `${binary} --version did not answer v${NODE22_VERSION} (status ${r.status}, ${(r.stdout || r.stderr || String(r.error ?? "")).trim().slice(0, 200)})` };
  }
  return { ok: true, binary, version: NODE22_VERSION };
}

/** The pinned oidc-provider; `binary` is its module entry, to import from a script run with findNode22's binary. */
export function findOidcProvider(dir: string = TEST_TOOLS_DIR): Found {
  return findNode22Module(dir, "oidc-provider", OIDC_PROVIDER_VERSION, (pkg) => (typeof pkg.main === "string" ? pkg.main : undefined));
}

/** The pinned MCP conformance suite; `binary` is its CLI script, to run with findNode22's binary. */
export function findConformance(dir: string = TEST_TOOLS_DIR): Found {
  return findNode22Module(dir, CONFORMANCE_PACKAGE, CONFORMANCE_VERSION, (pkg) => {
    const bin = pkg.bin;
    if (typeof bin === "string") return bin;
    const named = typeof bin === "object" && bin !== null ? (bin as Record<string, unknown>).conformance : undefined;
    return typeof named === "string" ? named : undefined;
  });
}

function findNode22Module(dir: string, name: string, version: string, entryOf: (pkg: Record<string, unknown>) => string | undefined): Found {
  const node = findNode22(dir);
  if (!node.ok) return node;
  const base = join(dir, NODE22_DIR);
  const pkgDir = join(base, "node_modules", ...name.split("/"));
  const installed = installedVersion(base, name);
  if (installed === undefined) return { ok: false, why: `no ${name} in ${base}: ${INSTALL_HINT}` };
  if (installed !== version) return { ok: false, why: `${name} ${installed} in ${base}, the tests pin ${version}: ${INSTALL_HINT}` };
  const entry = entryOf(JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as Record<string, unknown>);
  if (entry === undefined || !existsSync(join(pkgDir, entry))) return { ok: false, why: `${pkgDir}/package.json names no entry file that exists: ${INSTALL_HINT}` };
  return { ok: true, binary: join(pkgDir, entry), version };
}

/**
 * `npm install` of pinned packages into `dir`, which gets a package.json of its own. One call per
 * directory: a later `npm install --no-save` there would prune what an earlier one installed.
 * Throws with npm's output on failure.
 */
export function npmInstall(dir: string, ...specs: string[]): void {
  mkdirSync(dir, { recursive: true });
  // A package.json of its own: npm then treats the directory as a project and never walks up to the
  // repository's package.json (whose dependencies must not change).
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "mcp-warden-test-tools", private: true }) + "\n");
  const r = spawnSync("npm", ["install", "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error", ...specs], {
    cwd: dir,
    encoding: "utf8",
    timeout: 600_000,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) throw new Error(`npm install of ${specs.join(" ")} into ${dir} failed (status ${r.status}):\n${r.stdout}${r.stderr}${r.error ?? ""}`);
}

/** Installs the pinned tools into `dir` unless they are there already. Throws with npm's output on failure. */
export function installTestTools(dir: string = TEST_TOOLS_DIR): { claudeCode: Found; inspector: Found; node22: Found; oidcProvider: Found; conformance: Found; playwright: Found } {
  let claudeCode = findClaudeCode(dir);
  if (!claudeCode.ok) {
    npmInstall(dir, `${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}`);
    claudeCode = findClaudeCode(dir);
    if (!claudeCode.ok) throw new Error(`installed ${CLAUDE_CODE_PACKAGE}@${CLAUDE_CODE_VERSION}, but: ${claudeCode.why}`);
  }
  let inspector = findInspector(dir);
  if (!inspector.ok) {
    npmInstall(join(dir, "inspector"), `${INSPECTOR_PACKAGE}@${INSPECTOR_VERSION}`);
    inspector = findInspector(dir);
    if (!inspector.ok) throw new Error(`installed ${INSPECTOR_PACKAGE}@${INSPECTOR_VERSION}, but: ${inspector.why}`);
  }
  let node22 = findNode22(dir);
  let oidcProvider = findOidcProvider(dir);
  let conformance = findConformance(dir);
  if (!node22.ok || !oidcProvider.ok || !conformance.ok) {
    npmInstall(join(dir, NODE22_DIR), `${node22Package()}@${NODE22_VERSION}`, `oidc-provider@${OIDC_PROVIDER_VERSION}`, `${CONFORMANCE_PACKAGE}@${CONFORMANCE_VERSION}`);
    node22 = findNode22(dir);
    oidcProvider = findOidcProvider(dir);
    conformance = findConformance(dir);
    for (const [what, found] of [["Node 22", node22], ["oidc-provider", oidcProvider], ["conformance", conformance]] as const)
      if (!found.ok) throw new Error(`installed the Node 22 tools, but ${what}: ${found.why}`);
  }
  let playwright = findPlaywright(dir);
  if (!playwright.ok) {
    npmInstall(join(dir, PLAYWRIGHT_DIR), `${PLAYWRIGHT_PACKAGE}@${PLAYWRIGHT_VERSION}`);
    playwright = findPlaywright(dir);
    if (!playwright.ok) throw new Error(`installed ${PLAYWRIGHT_PACKAGE}@${PLAYWRIGHT_VERSION}, but: ${playwright.why}`);
  }
  return { claudeCode, inspector, node22, oidcProvider, conformance, playwright };
}

const LABELS = { claudeCode: "Claude Code", inspector: "MCP Inspector", node22: "Node", oidcProvider: "oidc-provider", conformance: "MCP conformance", playwright: "Playwright" } as const;

function main(args: string[]): number {
  const command = args[0] ?? "where";
  if (command === "install") {
    try {
      const tools = installTestTools();
      for (const [what, found] of Object.entries(tools)) if (found.ok) process.stdout.write(`test tools: ${LABELS[what as keyof typeof tools]} ${found.version} at ${found.binary}\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`test tools: ${(error as Error).message}\nCheck that the npm registry is reachable, then run this again.\n`);
      return 1;
    }
  }
  if (command === "where") {
    const tools = { claudeCode: findClaudeCode(), inspector: findInspector(), node22: findNode22(), oidcProvider: findOidcProvider(), conformance: findConformance(), playwright: findPlaywright() };
    for (const [what, found] of Object.entries(tools)) {
      const label = LABELS[what as keyof typeof tools];
      process.stdout.write(found.ok ? `${label} ${found.version}: ${found.binary}\n` : `${label}: ${found.why}\n`);
    }
    return Object.values(tools).every((f) => f.ok) ? 0 : 1;
  }
  process.stderr.write("usage: node dist/scripts/test-tools.js install | where\n");
  return 2;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.exitCode = main(process.argv.slice(2));
