// Environment variables that may ride on an allowed command (`LANG=C git status`). Anything else
// written before a command (`LD_PRELOAD=`, `PATH=`, `BASH_ENV=`, `PAGER=`, `GIT_SSH_COMMAND=`,
// `NODE_OPTIONS=`...) can make the command run other code, so the command is then not allowed by a
// rule that does not name the assignment (it asks). Deny and ask rules ignore assignments.
//
// The list is deliberately short: each entry only changes presentation (locale, colour, terminal
// size, time zone) or is a well-known switch that loads no code.

/** Exact names. */
export const SAFE_ENV_NAMES: ReadonlySet<string> = new Set([
  "LANG",
  "LANGUAGE",
  "TZ",
  "NO_COLOR",
  "FORCE_COLOR",
  "CLICOLOR",
  "CLICOLOR_FORCE",
  "COLORTERM",
  "TERM",
  "COLUMNS",
  "LINES",
  "CI",
  "NODE_ENV",
  "RUST_BACKTRACE",
  "RUST_LOG",
  "PYTHONUNBUFFERED",
  "PYTHONDONTWRITEBYTECODE",
  "PYTHONIOENCODING",
  "GIT_TERMINAL_PROMPT",
]);

/** Name prefixes (the locale categories `LC_ALL`, `LC_CTYPE`, ...). */
export const SAFE_ENV_PREFIXES: readonly string[] = ["LC_"];

/** The variable name of `NAME=value`, `NAME+=value` or `NAME[i]=value`. */
export function assignmentName(assignment: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(assignment);
  return m ? (m[1] as string) : assignment;
}

export function isSafeAssignment(assignment: string): boolean {
  // `a[i]=x` and `+=` forms are shell-variable tricks, not environment settings: never "safe".
  if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(assignment)) return false;
  const name = assignmentName(assignment);
  return SAFE_ENV_NAMES.has(name) || SAFE_ENV_PREFIXES.some((p) => name.startsWith(p) && /^[A-Z_]+$/.test(name));
}

/**
 * Variables whose value a program runs as a command line (git's ssh, pagers, editors, askpass
 * helpers...). Their values are judged as commands too, so deny rules apply to what they run.
 */
export const COMMAND_ENV_NAMES: ReadonlySet<string> = new Set([
  "GIT_SSH_COMMAND",
  "GIT_SSH",
  "GIT_EXTERNAL_DIFF",
  "GIT_PAGER",
  "GIT_EDITOR",
  "GIT_SEQUENCE_EDITOR",
  "GIT_ASKPASS",
  "GIT_PROXY_COMMAND",
  "PAGER",
  "MANPAGER",
  "SYSTEMD_PAGER",
  "EDITOR",
  "VISUAL",
  "SUDO_EDITOR",
  "SSH_ASKPASS",
  "SUDO_ASKPASS",
  "BROWSER",
  "LESSOPEN",
  "LESSCLOSE",
  "PROMPT_COMMAND",
  "RSYNC_RSH",
  "FCEDIT",
]);

/** Variables naming a file the shell reads and runs at start (`BASH_ENV=.env bash -c ...`). */
export const SOURCED_ENV_NAMES: ReadonlySet<string> = new Set(["BASH_ENV", "ENV"]);

/** Builtins whose `NAME=value` arguments set variables. */
export const DECLARING_BUILTINS: ReadonlySet<string> = new Set(["export", "declare", "typeset", "local", "readonly"]);

/**
 * Variables that change what code a program loads or runs, beyond the command-line ones above: the
 * dynamic loader, language runtimes' search paths and start-up hooks, package registries (which
 * decide what `npx -y` or `uvx` fetches), git's helpers and configuration. Shared with the server
 * identity (policy/integrity/pins.ts), which covers these variables' values.
 */
export const CODE_LOADING_ENV_NAMES: ReadonlySet<string> = new Set([
  "PATH", "HOME", "XDG_CONFIG_HOME", "SHELLOPTS", "BASHOPTS", "ZDOTDIR", "GCONV_PATH",
  "NODE_OPTIONS", "NODE_PATH",
  "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONUSERBASE", "PYTHONEXECUTABLE", "PYTHONPLATLIBDIR",
  "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONBREAKPOINT", "PYTHONWARNINGS",
  "PERL5LIB", "PERLLIB", "PERL5OPT", "PERL5DB", "RUBYOPT", "RUBYLIB", "GEM_PATH", "GEM_HOME", "BUNDLE_GEMFILE",
  "JAVA_HOME", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
  "GIT_EXEC_PATH", "GIT_TEMPLATE_DIR", "GIT_DIR", "PHPRC", "PHP_INI_SCAN_DIR", "DOTNET_STARTUP_HOOKS",
  "R_PROFILE", "R_PROFILE_USER",
]);

/** Name prefixes of code-loading variables (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`, `npm_config_node_options`...). */
export const CODE_LOADING_ENV_PREFIXES: readonly string[] = [
  "LD_", "DYLD_", "NPM_CONFIG_", "YARN_", "PIP_", "UV_", "GIT_CONFIG", "LUA_", "CORECLR_", "COR_",
];

/**
 * Whether setting this variable can change what code a program runs: the command-line variables,
 * the start-up files (`BASH_ENV`), and the code-loading ones. Case-insensitive (Windows' environment
 * is, and npm reads both `npm_config_*` and `NPM_CONFIG_*`), so the set errs on the side of covering.
 */
export function isCodeChangingEnvName(name: string): boolean {
  const upper = name.toUpperCase();
  return (
    COMMAND_ENV_NAMES.has(upper) ||
    SOURCED_ENV_NAMES.has(upper) ||
    CODE_LOADING_ENV_NAMES.has(upper) ||
    CODE_LOADING_ENV_PREFIXES.some((p) => upper.startsWith(p))
  );
}
