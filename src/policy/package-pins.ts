// Which package a package runner fetches at each start (`npx -y pkg`, `uvx pkg`, `pipx run pkg`,
// `pnpm dlx`, `bunx`...), and whether the launch pins one exact version. An unpinned launch runs
// whatever the registry serves as the newest release at every start: a new release published by a
// compromised maintainer account reaches every user at their next start (the rug pull of the
// seeds' mcp-remote advisory). Pure: reads the command line, asks no registry.
//
// Exact means one version: `pkg@1.2.3` (npm semver, prerelease and build allowed), `pkg==1.2.3` or
// `pkg===1.2.3` (Python). Ranges, tags (`@latest`), URLs, git and file specs are not pinned. When
// the runner is known but the package cannot be told from its arguments, the launch counts as
// unpinned (fail closed).
import { basename } from "node:path/posix";

export interface PackageLaunch {
  /** The runner as it is started (`npx`, `npm exec`, `uvx`, ...). */
  runner: string;
  /** The package argument as written, or undefined when it cannot be told. */
  spec?: string;
  /** The exact version, when the spec pins one. */
  version?: string;
  /** The ecosystem, for the hint on how to pin. */
  ecosystem: "npm" | "python";
}

const NPM_EXACT = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)$/i;
const PY_EXACT = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[A-Za-z0-9,._-]+\])?={2,3}([0-9][0-9A-Za-z.+!-]*)$/;

/** Options of each runner that take a value (so the value is not read as the package). */
const VALUED: Record<string, ReadonlySet<string>> = {
  npx: new Set(["-p", "--package", "-c", "--call", "--cache", "--registry", "--userconfig", "-w", "--workspace", "--prefix"]),
  npm: new Set(["-p", "--package", "-c", "--call", "--cache", "--registry", "--userconfig", "-w", "--workspace", "--prefix"]),
  pnpm: new Set(["--package", "-C", "--dir", "--reporter"]),
  yarn: new Set(["-p", "--package", "--cwd"]),
  bunx: new Set(["-p", "--package"]),
  bun: new Set(["-p", "--package", "--cwd"]),
  uvx: new Set(["--from", "--with", "--python", "-p", "--index", "--index-url", "--extra-index-url", "--with-requirements", "--constraints", "-c", "--directory", "--project", "--config-file", "--cache-dir"]),
  uv: new Set(["--from", "--with", "--python", "-p", "--index", "--index-url", "--extra-index-url", "--with-requirements", "--constraints", "-c", "--directory", "--project", "--config-file", "--cache-dir"]),
  pipx: new Set(["--spec", "--python", "--index-url", "--pip-args"]),
};

/** Options whose value is the package itself (then the first operand is a command it provides). */
const PACKAGE_OPTIONS = new Set(["-p", "--package", "--from", "--spec"]);

function versionOf(spec: string, ecosystem: "npm" | "python"): string | undefined {
  const m = (ecosystem === "npm" ? NPM_EXACT : PY_EXACT).exec(spec);
  return m?.[ecosystem === "npm" ? 2 : 1];
}

/** The package a runner's arguments name: a package option's value, else the first operand. */
function specFrom(runnerKey: string, args: readonly string[]): string | undefined {
  const valued = VALUED[runnerKey] ?? new Set<string>();
  let fromOption: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === "--") return fromOption ?? args[i + 1];
    if (a.startsWith("--") && a.includes("=")) {
      const [name, value] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
      if (PACKAGE_OPTIONS.has(name) && fromOption === undefined) fromOption = value;
      continue;
    }
    if (a.startsWith("-") && a !== "-") {
      if (valued.has(a)) {
        if (PACKAGE_OPTIONS.has(a) && fromOption === undefined) fromOption = args[i + 1];
        i++;
      }
      continue;
    }
    return fromOption ?? a;
  }
  return fromOption;
}

const SHELLS = new Set(["sh", "bash", "dash", "zsh", "ksh", "ash"]);
const FETCHES = /(^|[^\w-])(npx|pnpx|bunx|uvx|pipx|dlx|npx-cli\.js)([^\w-]|$)|\bnpm\s+(exec|x)\b|\bbun\s+x\b|\buv\s+tool\s+run\b/;
const RUNNER_WORD = /(^|[\s;&|()`'"/])(npx|pnpx|bunx|uvx|pipx|npm|pnpm|yarn|bun|uv|npx-cli\.js)(?=$|[\s;&|()`'"])/;

/**
 * The package a stdio server's command fetches at start, or undefined when it is no package runner.
 * Looks through `env [NAME=value...] CMD` and npm's own `npx-cli.js`; a shell's `-c` script that
 * mentions a runner is read word by word, and one it cannot read counts as unpinned (fail closed:
 * wrapping `npx` in `sh -c` must not slip past requirePinnedPackages).
 */
export function packageLaunch(command: string, args: readonly string[], depth = 0): PackageLaunch | undefined {
  const name0 = basename(command);
  if (depth < 4 && name0 === "env") {
    let i = 0;
    while (i < args.length && ((args[i] as string).startsWith("-") || /^[A-Za-z_][A-Za-z0-9_]*=/.test(args[i] as string))) i++;
    return i < args.length ? packageLaunch(args[i] as string, args.slice(i + 1), depth + 1) : undefined;
  }
  if (SHELLS.has(name0)) {
    const c = args.indexOf("-c");
    const script = c >= 0 ? args[c + 1] : undefined;
    if (script === undefined || !RUNNER_WORD.test(script)) return undefined;
    const words = script.trim().split(/\s+/);
    const start = words.findIndex((w) => RUNNER_WORD.test(` ${w} `));
    const inner = depth < 4 && start >= 0 && !/[;&|()`$<>]/.test(script) ? packageLaunch(words[start] as string, words.slice(start + 1), depth + 1) : undefined;
    if (inner !== undefined) return inner;
    // A script that fetches a package in a form not read here (pipes, `&&`, variables...) is unpinned.
    return FETCHES.test(script) ? { runner: `${name0} -c`, ecosystem: "npm" } : undefined;
  }
  // `node .../npm/bin/npx-cli.js ARGS` is npx itself; `npm-cli.js` is npm.
  if (depth < 4 && name0 === "node" && args.length > 0 && /^(npx|npm)-cli\.js$/.test(basename(args[0] as string))) {
    return packageLaunch(basename(args[0] as string), args.slice(1), depth + 1);
  }
  const name = name0 === "npx-cli.js" ? "npx" : name0 === "npm-cli.js" ? "npm" : name0;
  let rest = args;
  let runner = name;
  let key = name;
  let ecosystem: "npm" | "python" = "npm";
  if (name === "npx" || name === "pnpx" || name === "bunx") key = name === "pnpx" ? "pnpm" : name;
  else if (name === "npm" || name === "pnpm" || name === "yarn" || name === "bun") {
    // Only their "fetch and run" subcommands: `npm exec`/`npm x`, `pnpm dlx`, `yarn dlx`, `bun x`.
    const sub = args.findIndex((a) => !a.startsWith("-"));
    const word = sub >= 0 ? args[sub] : undefined;
    const fetches = name === "npm" ? word === "exec" || word === "x" : name === "bun" ? word === "x" : word === "dlx";
    if (!fetches) return undefined;
    runner = `${name} ${word}`;
    rest = args.slice(sub + 1);
  } else if (name === "uvx" || name === "uv" || name === "pipx") {
    ecosystem = "python";
    if (name === "uv") {
      // `uv tool run` (uvx's long form); `uv run` runs a project, not a fetched package.
      const i = args.indexOf("tool");
      if (i < 0 || args[i + 1] !== "run") return undefined;
      runner = "uv tool run";
      rest = args.slice(i + 2);
    } else if (name === "pipx") {
      const i = args.indexOf("run");
      if (i < 0) return undefined;
      runner = "pipx run";
      rest = args.slice(i + 1);
    }
  } else return undefined;
  const spec = specFrom(key, rest);
  const out: PackageLaunch = { runner, ecosystem };
  if (spec !== undefined) {
    out.spec = spec;
    const version = versionOf(spec, ecosystem);
    if (version !== undefined) out.version = version;
  }
  return out;
}

/** How to pin, for a message. */
export function pinHint(p: PackageLaunch): string {
  if (p.spec === undefined) return `name the package with one exact version in the ${p.runner} arguments`;
  const bare = p.ecosystem === "npm" ? p.spec.replace(/^(@?[^@]+)@.*$/, "$1") : p.spec.replace(/[=<>~!].*$/, "");
  return p.ecosystem === "npm" ? `write "${bare}@<version>" (\`npm view ${bare} version\` shows the newest)` : `write "${bare}==<version>"`;
}
