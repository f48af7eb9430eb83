// The mcp-warden command line: every command, but `hook` (and `exec` and `run` when their lean entries
// take the arguments), which src/cli.cts routes to a bundle before this module and commander load.
// Each action loads only the code it needs, so short-lived commands start fast.
import { Command, Option } from "commander";
import { EXIT } from "./exit-codes.js";
import { loadOrExit } from "./load-settings.js";

const EXIT_CODES_HELP = `
Exit codes: 0 success, 2 usage or settings error; each command's --help lists its own.`;

/** A command's own exit codes, for the end of its --help. */
function exitCodes(...codes: [number, string][]): string {
  return `\nExit codes:\n${codes.map(([code, meaning]) => `  ${code}  ${meaning}`).join("\n")}`;
}
const USAGE: [number, string] = [EXIT.usage, "usage or settings error (an invalid rule included)"];
/** Each command's exit codes (see each command's module for where they come from). */
const EXIT_HELP = {
  run: exitCodes([EXIT.ok, "the client closed the connection, or a signal stopped the gateway"], USAGE, [EXIT.runtime, "the gateway could not start"]),
  check: exitCodes([EXIT.ok, "allow"], [EXIT.denyOrFailed, "deny"], USAGE, [EXIT.ask, "ask"]) + "\nWith --as: the same codes, for that caller's decision.\nWith --batch: 0 once every line is answered (a line that cannot be judged is answered deny).",
  status: exitCodes([EXIT.ok, "the status was shown"], USAGE),
  scan: exitCodes(
    [EXIT.ok, "nothing flagged"],
    [EXIT.denyOrFailed, "something flagged: a tool hidden as poisoned or held back as changed, a server awaiting approval, a server that did not start"],
    USAGE,
  ),
  audit: exitCodes([EXIT.ok, "the matching records were printed"], [EXIT.denyOrFailed, "a line of the log is damaged, or the directory cannot be read (run `mcp-warden audit verify`)"], USAGE),
  serversList: exitCodes([EXIT.ok, "the servers were listed"], USAGE),
  serversChange: exitCodes([EXIT.ok, "done"], [EXIT.denyOrFailed, "the settings file could not be changed (nothing was changed)"], [EXIT.usage, "usage or settings error, or no such server in that layer"]),
  init: exitCodes([EXIT.ok, "done, or nothing to do (--dry-run changes nothing)"], [EXIT.denyOrFailed, "a file could not be read or written"], [EXIT.usage, "usage error, or a config or settings file that cannot be converted"]),
  exec: "\nExit status: the command's own (128+N when signal N ended it); 2 usage or settings error, or no sandbox can run here; 1 the sandbox could not be prepared or the audit log written (nothing ran).",
  hook: exitCodes([EXIT.ok, "a decision (allow, ask or deny) was printed as JSON"], [EXIT.usage, "bad command line (Claude Code then blocks the call)"]),
  approvals: exitCodes([EXIT.ok, "done"], [EXIT.denyOrFailed, "no running gateway answered, or no such question"], [EXIT.usage, "usage error"]),
  console: exitCodes([EXIT.ok, "a link was printed for each running gateway of this project"], [EXIT.denyOrFailed, "no link: no gateway is running, its console is off (approvals.page) or not started yet"]),
  pins: exitCodes([EXIT.ok, "done"], [EXIT.denyOrFailed, "nothing to approve or reset for that server, or the pin store cannot be read or written"], USAGE),
  trust: exitCodes([EXIT.ok, "done"], [EXIT.denyOrFailed, "the trust store cannot be updated"], [EXIT.usage, "usage error, or the settings do not load"]),
  serve: exitCodes([EXIT.ok, "a signal stopped the gateway after draining"], USAGE, [EXIT.runtime, "the gateway could not start (e.g. the address is in use)"]),
  keys: exitCodes([EXIT.ok, "done"], [EXIT.denyOrFailed, "the settings file could not be read or written (nothing was changed)"], [EXIT.usage, "usage error: a bad name or date, a name that exists (create) or does not (revoke)"]),
  incident: exitCodes(
    [EXIT.ok, "the report was written"],
    [EXIT.denyOrFailed, "the audit log is broken or cannot be read, or containment failed (the report is still written)"],
    [EXIT.usage, "usage or settings error, or a server that is neither configured nor in the audit log (nothing changed)"],
  ),
  doctor: exitCodes([EXIT.ok, "everything required is there"], [EXIT.denyOrFailed, "something required is missing"], [EXIT.usage, "the settings do not load"]),
};

const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command("mcp-warden")
  .description("A security gateway for the Model Context Protocol: one policy and one tamper-evident audit log in front of every MCP server.")
  .version("0.1.0")
  .showHelpAfterError()
  .addHelpText("after", EXIT_CODES_HELP);

function settingsOption(cmd: Command) {
  return cmd.option("--settings <file>", "an extra settings file (repeatable; later files take precedence)", collect, []);
}


settingsOption(
  program
    .command("run")
    .description("Serve MCP on stdio: start the configured upstream servers and enforce the policy on every request.")
    .addHelpText("after", "\nPut `mcp-warden run` in your client's MCP config in place of the servers it fronts (see `mcp-warden init`)." + EXIT_HELP.run),
).action(async (opts: { settings: string[] }) => {
  const { runCommand } = await import("./run.js");
  await runCommand(opts.settings);
});

settingsOption(
  program
    .command("serve")
    .description("Serve MCP over HTTP at /mcp for many users and agents: every caller authenticated (OpenID tokens or API keys), judged by the same policy, audited.")
    .option("--listen <host:port>", "where to listen (default remote.listen, else 127.0.0.1:8787; port 0 picks a free one)")
    .addHelpText(
      "after",
      "\nConfigure remote.auth (an OpenID issuer, or keys from `mcp-warden keys create NAME`) first; see README, Remote mode. SIGTERM drains requests in flight, then stops." +
        EXIT_HELP.serve,
    ),
).action(async (opts: { settings: string[]; listen?: string }) => {
  const settings = await loadOrExit(opts.settings);
  for (const w of settings.warnings) process.stderr.write(`mcp-warden: warning: ${w}\n`);
  const { remoteSandboxNotes } = await import("../settings/remote-only.js");
  const { unpinnedPackageNotes } = await import("../settings/package-notes.js");
  for (const n of [...remoteSandboxNotes(settings.servers), ...unpinnedPackageNotes(settings.servers)]) process.stderr.write(`mcp-warden: note: ${n}\n`);
  const { runServe, ServeRefused } = await import("./serve.js");
  const log = (m: string) => process.stderr.write(`mcp-warden: ${m.replace(/\n/g, " ")}\n`);
  let serving;
  try {
    serving = await runServe({ settings, env: process.env, cliFiles: opts.settings, ...(opts.listen ? { listen: opts.listen } : {}) }, log);
  } catch (error) {
    const refused = error instanceof ServeRefused || (error as Error).name === "PolicyError";
    process.stderr.write(`mcp-warden: cannot serve: ${(error as Error).message}\n`);
    process.exit(refused ? EXIT.usage : EXIT.runtime);
  }
  log(`serving MCP at ${serving.url} (Ctrl-C or SIGTERM drains and stops)`);
  process.on("unhandledRejection", (reason) => log(`internal error: ${String((reason as Error)?.message ?? reason)}`));
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => void serving.close(`signal ${signal}`).then(() => process.exit(EXIT.ok)));
  }
});

settingsOption(
  program
    .command("check")
    .description("Judge one request as the gateway would, without starting any server; print the decision as JSON.")
    .option("--tool <name>", "tool name: mcp__<server>__<tool> or a built-in tool such as Bash")
    .option("--input <json>", "the tool's arguments as a JSON object", "{}")
    .option("--batch", "read JSON Lines requests from stdin, write one JSON decision per line (settings come from each request)")
    .option("--as <user:SUBJECT>", "judge as this remote caller (an authenticated principal: `principals` entries for it, its groups, client and org, and `*` apply)")
    .option("--groups <a,b>", "with --as: the caller's groups, comma-separated")
    .option("--client <id>", "with --as: the OAuth client id the caller's token was issued to")
    .option("--org <id>", "with --as: the caller's organization")
    .addHelpText(
      "after",
      `
Examples:
  mcp-warden check --tool mcp__github__create_issue
  mcp-warden check --tool mcp__db__write_rows --as user:alice --groups dev,oncall --client ci-bot

Batch request: {"id": string, "settings": object, "cwd"?: string,
  "principal"?: {"subject": string, "clientId"?: string, "groups"?: string[], "org"?: string}} plus one of
  {"tool": string, "input": object} | {"server": string, "url": string} |
  {"server": string, "toolDefinition": object, "pinned"?: object}
Answer: {"id", "decision": "allow"|"ask"|"deny", "reason", "rule"?}` + EXIT_HELP.check,
    ),
).action(async (opts: { tool?: string; input: string; batch?: boolean; as?: string; groups?: string; client?: string; org?: string; settings: string[] }) => {
  const { runBatch, judgeToolCall, compileSettings, asPrincipal, requestPrincipal } = await (await import("../check/check.js")).loadCheck();
  const asFlags = (["groups", "client", "org"] as const).filter((k) => opts[k] !== undefined).map((k) => `--${k}`);
  if (opts.batch) {
    if (opts.as !== undefined || asFlags.length > 0) {
      process.stderr.write(`mcp-warden check: with --batch, give each request a "principal" field instead of --as/--groups/--client/--org\n`);
      process.exit(EXIT.usage);
    }
    await runBatch(process.stdin, process.stdout, process.env);
    return;
  }
  if (!opts.tool) {
    process.stderr.write("mcp-warden check: give --tool NAME (and --input JSON), or --batch\n");
    process.exit(EXIT.usage);
  }
  if (opts.as === undefined && asFlags.length > 0) {
    process.stderr.write(`mcp-warden check: ${asFlags.join(", ")} describe the caller of --as; add --as user:SUBJECT\n`);
    process.exit(EXIT.usage);
  }
  if (opts.as !== undefined && !/^user:./.test(opts.as)) {
    process.stderr.write(`mcp-warden check: --as takes user:SUBJECT (got ${JSON.stringify(opts.as)}); give the client with --client ID, groups with --groups A,B, the organization with --org ID\n`);
    process.exit(EXIT.usage);
  }
  for (const k of ["client", "org"] as const)
    if (opts[k] === "") {
      process.stderr.write(`mcp-warden check: --${k} must not be empty\n`);
      process.exit(EXIT.usage);
    }
  let input: unknown;
  try {
    input = JSON.parse(opts.input);
  } catch {
    input = undefined;
  }
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    process.stderr.write("mcp-warden check: --input must be a JSON object\n");
    process.exit(EXIT.usage);
  }
  const settings = await loadOrExit(opts.settings);
  const { gatewaySandboxRefusal } = await import("../sandbox/gate.js");
  const { stateDir } = await import("../settings/paths.js");
  const { join } = await import("node:path");
  let compiled = compileSettings(settings, process.env, gatewaySandboxRefusal(join(stateDir(process.env), "cache")));
  if (opts.as !== undefined) {
    const groups = (opts.groups ?? "").split(",").map((g) => g.trim()).filter((g) => g !== "");
    compiled = asPrincipal(compiled, requestPrincipal({ subject: opts.as.slice("user:".length), groups, ...(opts.client !== undefined ? { clientId: opts.client } : {}), ...(opts.org !== undefined ? { org: opts.org } : {}) }));
  }
  const verdict = judgeToolCall(compiled, opts.tool, input as Record<string, unknown>, process.cwd());
  process.stdout.write(JSON.stringify({ decision: verdict.decision, reason: verdict.reason, rule: verdict.rule, source: verdict.source }) + "\n");
  const { exposedNameHint } = await import("./tool-name-hint.js");
  const hint = exposedNameHint(opts.tool, settings);
  if (hint) process.stderr.write(`mcp-warden check: hint: ${hint.why}; try \`mcp-warden check --tool ${hint.canonical}\`\n`);
  process.exitCode = verdict.decision === "allow" ? EXIT.ok : verdict.decision === "ask" ? EXIT.ask : EXIT.denyOrFailed;
});

settingsOption(
  program
    .command("status")
    .description("Show each server: state, transport, tool count, last error, sandbox (from running gateways, else from settings).")
    .option("--json", "print JSON")
    .addHelpText("after", EXIT_HELP.status),
).action(async (opts: { json?: boolean; settings: string[] }) => {
  const settings = await loadOrExit(opts.settings);
  const { statusCommand } = await import("./status.js");
  process.exitCode = await statusCommand({ settings, env: process.env, json: opts.json }, process.stdout);
});

settingsOption(
  program
    .command("scan")
    .description(
      "Start every configured server as the gateway would, list its tools, and report poisoned or changed definitions (exit 1 when any is flagged). Servers waiting for approval (a project's own, a changed launch configuration) are not started.",
    )
    .option("--json", "print JSON")
    .option("--include-unapproved", "also start servers whose launch configuration nobody approved yet: this RUNS the commands a project's settings name (in their configured sandbox)")
    .addHelpText("after", EXIT_HELP.scan),
).action(async (opts: { json?: boolean; includeUnapproved?: boolean; settings: string[] }) => {
  const settings = await loadOrExit(opts.settings);
  const { scanCommand } = await import("./scan.js");
  process.exitCode = await scanCommand({ settings, env: process.env, json: opts.json, includeUnapproved: opts.includeUnapproved === true }, process.stdout);
});

const audit = program
  .command("audit")
  .description("Query the audit log (and `audit verify` to check its hash chain).")
  .option("--dir <dir>", "audit directory (default: from settings)")
  .option("--server <name>", "only this server")
  .option("--tool <glob>", "only tools matching this glob (canonical names, * wildcard)")
  .addOption(new Option("--decision <d>", "only this decision").choices(["allow", "ask", "deny"]))
  .option("--kind <kind>", "only this record kind (call, list, request, server, gateway, decision)")
  .option("--since <time>", "ISO time or a duration ago: 30s, 15m, 2h, 7d")
  .option("--until <time>", "ISO time or a duration ago")
  .option("--limit <n>", "at most this many records (the newest)", (v) => Number.parseInt(v, 10))
  .option("--json", "one JSON record per line")
  .option("--settings <file>", "an extra settings file (repeatable)", collect, [])
  .addHelpText("after", EXIT_HELP.audit)
  .action(async (opts: { dir?: string; settings: string[]; json?: boolean; server?: string; tool?: string; decision?: string; kind?: string; since?: string; until?: string; limit?: number }) => {
    // An explicit --dir reads that file log; otherwise the settings say where the log is.
    const settings = opts.dir !== undefined ? undefined : await loadOrExit(opts.settings);
    const postgres = settings ? await postgresUrlOrExit(settings.state) : undefined;
    const dir = opts.dir ?? settings!.audit.dir;
    const { auditQueryCommand } = await import("./audit.js");
    process.exitCode = await auditQueryCommand({ ...opts, dir, ...(postgres !== undefined ? { postgres } : {}) }, process.stdout);
  });

audit
  .command("verify")
  .description("Check the hash chain of every audit segment and every segment's head against the checkpoint; name what was altered or removed.")
  .option("--dir <dir>", "audit directory (default: from settings)")
  .option("--key-file <file>", "HMAC key of a keyed audit log (default: audit.hmacKeyFile from settings)")
  .option("--json", "print the result as JSON")
  .option("--settings <file>", "an extra settings file (repeatable)", collect, [])
  .addHelpText("after", "\nExit codes of verify: 0 intact, 1 something altered or removed, 2 usage or settings error, 3 nothing found altered but not proven complete.")
  .action(async (opts: { dir?: string; keyFile?: string; json?: boolean; settings: string[] }, cmd: Command) => {
    // Options `audit` also has are parsed by it wherever they stand: take them from there too.
    const parent = (cmd.parent?.opts() ?? {}) as { dir?: string; json?: boolean; settings?: string[] };
    const explicitDir = opts.dir ?? parent.dir;
    // Settings give the directory and the key; with both on the command line they are not needed.
    const settings = explicitDir !== undefined && opts.keyFile !== undefined ? undefined : await loadOrExit([...(parent.settings ?? []), ...opts.settings]);
    const dir = explicitDir ?? settings!.audit.dir;
    const postgres = explicitDir === undefined && settings ? await postgresUrlOrExit(settings.state) : undefined;
    const { auditVerifyCommand } = await import("./audit.js");
    process.exitCode = await auditVerifyCommand({ dir, json: opts.json ?? parent.json, keyFile: opts.keyFile ?? settings?.audit.hmacKeyFile, ...(postgres !== undefined ? { postgres } : {}) }, process.stdout);
  });

/** `state init-postgres` and `audit init-postgres`: one command creating every table mcp-warden keeps in PostgreSQL. */
function initPostgresCommandOn(parent: Command, name: "state" | "audit") {
  parent
    .command("init-postgres")
    .description(
      "Create the PostgreSQL tables mcp-warden keeps (state.postgres): the audit log (indexes, and the trigger refusing UPDATE, DELETE and TRUNCATE) and the pins and server approvals; with --role, grant that role INSERT and SELECT on the audit log and SELECT, INSERT, UPDATE and DELETE on the pins, nothing else. Run it once, as the role that is to own the tables (not the gateway's).",
    )
    .option("--role <name>", "the gateway's database role, to be granted what it needs")
    .option("--url <url>", "connect with this URL (the owner's) instead of state.postgres")
    .option("--print", "print the SQL instead of running it")
    .option("--settings <file>", "an extra settings file (repeatable)", collect, [])
    .addHelpText("after", "\nExit codes of init-postgres: 0 created (or printed), 1 the database refused or could not be reached, 2 usage or settings error (no database configured).")
    .action(async (opts: { role?: string; url?: string; print?: boolean; settings: string[] }, cmd: Command) => {
      const parentOpts = (cmd.parent?.opts() ?? {}) as { settings?: string[] };
      const { initPostgresCommand } = await import("./audit-postgres.js");
      const url = opts.url ?? (opts.print ? undefined : await postgresUrlOrExit((await loadOrExit([...(parentOpts.settings ?? []), ...opts.settings])).state));
      process.exitCode = await initPostgresCommand({ url, role: opts.role, print: opts.print === true }, process.stdout, process.stderr, `${name} init-postgres`);
    });
}
initPostgresCommandOn(audit, "audit");
initPostgresCommandOn(program.command("state").description("Shared state in PostgreSQL (state.postgres): the audit log, pins and server approvals."), "state");

/** `state.postgres` with its `${VAR}`s expanded; a variable that is not set is a settings error. */
async function postgresUrlOrExit(state: { postgres?: string }): Promise<string | undefined> {
  const { postgresUrlOf } = await import("../audit/postgres-url.js");
  try {
    return postgresUrlOf(state, process.env);
  } catch (e) {
    process.stderr.write(`mcp-warden: settings error: ${(e as Error).message}\n`);
    process.exit(EXIT.usage);
  }
}

const servers = program.command("servers").description("List servers, or take one out of service now (incident response).");
settingsOption(servers.command("list").description("List configured servers, their layer and whether policy lets them run.").option("--json", "print JSON").addHelpText("after", EXIT_HELP.serversList)).action(
  async (opts: { json?: boolean; settings: string[] }) => {
    const settings = await loadOrExit(opts.settings);
    const { serversListCommand } = await import("./servers.js");
    process.exitCode = await serversListCommand({ settings, json: opts.json }, process.stdout);
  },
);
for (const [name, description] of [
  ["disable", "Disable a server in the settings layer that defines it (or --layer), so no gateway starts it again."],
  ["remove", "Remove a server from the settings layer that defines it (or --layer)."],
] as const) {
  settingsOption(
    servers
      .command(`${name} <server>`)
      .description(description)
      .addOption(new Option("--layer <layer>", "settings layer to write").choices(["managed", "local", "project", "user"]))
      .option("--deny", "also add the server to deniedMcpServers in that layer")
      .addHelpText("after", EXIT_HELP.serversChange),
  ).action(async (server: string, opts: { layer?: string; deny?: boolean; settings: string[] }) => {
    const settings = await loadOrExit(opts.settings);
    const { serversChangeCommand } = await import("./servers.js");
    process.exitCode = await serversChangeCommand({ action: name, server, layer: opts.layer, deny: opts.deny, settings, cwd: process.cwd(), env: process.env }, process.stdout);
  });
}

program
  .command("init")
  .description("Read an existing .mcp.json (or Claude Code config), move its servers into mcp-warden settings (literal secrets into the git-ignored local layer), point the client at `mcp-warden run` (keeping a backup), approve the moved servers' launch configurations as you, and write a starter policy from their tool annotations. With --claude-code: install `mcp-warden hook` as Claude Code's PreToolUse hook instead (with --http URL: its http hook, answered by `mcp-warden serve`).")
  .option("--from <file>", "the MCP config to convert (default: ./.mcp.json)")
  .option("--claude-code", "install the PreToolUse hook in ./.claude/settings.json (or ~/.claude/settings.json with --user)")
  .option("--user", "with --claude-code: the user's ~/.claude/settings.json")
  .option("--http <url>", "with --claude-code: install Claude Code's http hook, posting each tool call to `mcp-warden serve` at URL (e.g. http://127.0.0.1:8787) instead of running `mcp-warden hook`; the token comes from $MCP_WARDEN_HOOK_TOKEN")
  .option("--dry-run", "print what would change, change nothing")
  .option("--no-starter-policy", "do not start the moved servers to build allow/ask rules from their tool annotations")
  .addHelpText("after", EXIT_HELP.init)
  .action(async (opts: { from?: string; dryRun?: boolean; claudeCode?: boolean; user?: boolean; http?: string; starterPolicy: boolean }) => {
    if (opts.http !== undefined && !opts.claudeCode) {
      process.stderr.write("mcp-warden init: --http goes with --claude-code\n");
      process.exit(EXIT.usage);
    }
    if (opts.claudeCode) {
      if (opts.from) {
        process.stderr.write("mcp-warden init: --from does not go with --claude-code\n");
        process.exit(EXIT.usage);
      }
      const { initClaudeCodeCommand } = await import("./init-claude-code.js");
      process.exitCode = await initClaudeCodeCommand({ user: opts.user, http: opts.http, dryRun: opts.dryRun, cwd: process.cwd(), env: process.env }, process.stdout);
      return;
    }
    if (opts.user) {
      process.stderr.write("mcp-warden init: --user goes with --claude-code\n");
      process.exit(EXIT.usage);
    }
    const { initCommand } = await import("./init.js");
    process.exitCode = await initCommand({ from: opts.from, dryRun: opts.dryRun, starterPolicy: opts.starterPolicy, cwd: process.cwd(), env: process.env }, process.stdout);
  });

settingsOption(
  program
    .command("test <file>")
    .description("Run policy unit tests: each a check request plus the decision it must get. Prints failures and a summary.")
    .addHelpText(
      "after",
      `
FILE holds a JSON array (or JSON Lines) of tests:
  {"name"?: string, "tool": string, "input"?: object, "cwd"?: string,
   "settings"?: object, "expect": "allow"|"ask"|"deny", "expectRule"?: string}
A test without "settings" is judged by the loaded settings layers (your real policy, plus --settings);
"cwd" defaults to the directory of FILE.
Exit: 0 all passed, 1 a test failed, 2 the file or the settings are invalid.`,
    ),
).action(async (file: string, opts: { settings: string[] }) => {
  const { policyTestCommand } = await import("./policy-test.js");
  process.exitCode = await policyTestCommand({ file, cliFiles: opts.settings, cwd: process.cwd(), env: process.env }, process.stdout);
});

settingsOption(
  program
    .command("exec")
    .description("Run any command in a sandbox with the same policy as sandboxed servers; stdin, stdout, stderr and the exit status pass through.")
    .option("--profile <name>", "a named sandbox from settings (sandboxProfiles); default: the global sandbox settings")
    .option("--bash-sandbox", "the sandbox of an agent's Bash command (what the hook wraps commands in when sandbox.enabled or toolPermissions.Bash.networkPolicy is set)")
    .option("--project-root <dir>", "with --bash-sandbox: the project whose settings apply and whose directory is writable")
    .argument("<command...>", "the command and its arguments (after --)")
    .addHelpText("after", "\nExample: mcp-warden exec --profile build -- npm test\nWithout sandbox settings the command gets the platform's default sandbox: the working directory writable (unless it is the home directory or above it), no network, the rest of the home directory hidden." + EXIT_HELP.exec),
).action(async (command: string[], opts: { profile?: string; settings: string[]; bashSandbox?: boolean; projectRoot?: string }) => {
  const settings = await loadOrExit(opts.settings);
  const { execCommand } = await import("./exec.js");
  const bashSandbox = opts.bashSandbox === true ? (opts.projectRoot !== undefined ? { projectRoot: opts.projectRoot } : {}) : undefined;
  process.exitCode = await execCommand({ settings, profile: opts.profile, command, cwd: process.cwd(), env: process.env, ...(bashSandbox ? { bashSandbox } : {}) });
});

program
  .command("hook")
  .description("Claude Code's PreToolUse hook: read the hook JSON on stdin, print allow/ask/deny (install with `init --claude-code`).")
  .option("--settings <file>", "an extra settings file (repeatable)", collect, [])
  .addHelpText("after", EXIT_HELP.hook);
// (`hook` is run by src/cli.ts before this module loads; it is declared here for --help.)

const approvals = program.command("approvals").description("Answer the questions running gateways are holding calls for (`ask` rules).");
approvals
  .command("list")
  .description("List pending questions: server, tool, arguments, time left, and the page URL.")
  .option("--json", "print JSON")
  .action(async (opts: { json?: boolean }) => {
    const { approvalsCommand } = await import("./approvals.js");
    process.exitCode = await approvalsCommand("list", { json: opts.json, env: process.env }, process.stdout, process.stderr);
  });
approvals
  .command("approve <id>")
  .description("Let the held call through: once (default), for this session, or always (an allow rule in the local settings layer).")
  .option("--session", "allow this tool for the rest of the gateway's session")
  .option("--always", "also write an allow rule to the local settings layer")
  .action(async (id: string, opts: { session?: boolean; always?: boolean }) => {
    if (opts.session && opts.always) {
      process.stderr.write("mcp-warden: choose one of --session and --always\n");
      process.exitCode = EXIT.usage;
      return;
    }
    const { approvalsCommand } = await import("./approvals.js");
    const scope = opts.always ? "always" : opts.session ? "session" : "once";
    process.exitCode = await approvalsCommand("approve", { id, scope, env: process.env }, process.stdout, process.stderr);
  });
approvals
  .command("deny <id>")
  .description("Refuse the held call.")
  .action(async (id: string) => {
    const { approvalsCommand } = await import("./approvals.js");
    process.exitCode = await approvalsCommand("deny", { id, env: process.env }, process.stdout, process.stderr);
  });

program
  .command("console")
  .description("Print a one-time link into the local console of each `mcp-warden run` gateway of this project (questions, activity, servers); it works once, for five minutes.")
  .addHelpText("after", EXIT_HELP.console)
  .action(async () => {
    const { consoleCommand } = await import("./console.js");
    process.exitCode = consoleCommand({ env: process.env, cwd: process.cwd() }, process.stdout, process.stderr);
  });

const pins = program.command("pins").description("Pinned tool definitions and approved server launch configurations.");
// Every pins command loads the settings: they say where the pins are (state.postgres, or pins.json).
settingsOption(pins.command("list [server]").description("List approved servers and their pinned tools.").option("--json", "print JSON")).action(
  async (server: string | undefined, opts: { json?: boolean; settings: string[] }) => {
    const settings = await loadOrExit(opts.settings);
    const { pinsCommand } = await import("./pins.js");
    process.exitCode = await pinsCommand("list", { server, json: opts.json, env: process.env, settings }, process.stdout, process.stderr);
  },
);
settingsOption(
  pins
    .command("approve <server> [tool]")
    .description(
      "Approve what a running gateway holds back for this server: its changed tools, or its new or changed launch configuration. Without a gateway, approves the launch configuration the settings here define (and shows it).",
    ),
).action(async (server: string, tool: string | undefined, opts: { settings: string[] }) => {
  const settings = await loadOrExit(opts.settings);
  const { pinsCommand } = await import("./pins.js");
  process.exitCode = await pinsCommand("approve", { server, tool, env: process.env, settings }, process.stdout, process.stderr);
});
settingsOption(pins.command("reset <server> [tool]").description("Forget a server's pins (or one tool's); they are pinned again on first use.")).action(
  async (server: string, tool: string | undefined, opts: { settings: string[] }) => {
    const settings = await loadOrExit(opts.settings);
    const { pinsCommand } = await import("./pins.js");
    process.exitCode = await pinsCommand("reset", { server, tool, env: process.env, settings }, process.stdout, process.stderr);
  },
);

const keys = program.command("keys").description("API keys for `mcp-warden serve` (agents, CI): create one (shown once; settings keep only its hash), list, revoke.");
const keysFileOption = (cmd: Command) => cmd.option("--settings <file>", "the settings file holding the keys (default: your user settings file)");
keysFileOption(
  keys
    .command("create <name>")
    .description("Make a new key from the CSPRNG, store its SHA-256 in remote.auth.apiKeys.NAME, and print the key once.")
    .option("--subject <s>", "the principal's subject (default apikey:NAME)")
    .option("--groups <a,b>", "groups the key's principal is in")
    .option("--scopes <s1,s2>", "scopes the key grants")
    .option("--org <id>", "the key's organization")
    .option("--expires <iso>", "when the key stops working (ISO 8601)"),
).action(async (name: string, opts: { settings?: string; subject?: string; groups?: string; scopes?: string; org?: string; expires?: string }) => {
  const { keysCreateCommand } = await import("./keys.js");
  process.exitCode = keysCreateCommand({ ...opts, name, file: opts.settings, cwd: process.cwd(), env: process.env }, { out: process.stdout, err: process.stderr });
});
keysFileOption(keys.command("list").description("List the keys: name, subject, expiry, groups, scopes (never the keys; they are not stored).").option("--json", "print JSON")).action(
  async (opts: { settings?: string; json?: boolean }) => {
    const { keysListCommand } = await import("./keys.js");
    process.exitCode = keysListCommand({ json: opts.json, file: opts.settings, cwd: process.cwd(), env: process.env }, { out: process.stdout, err: process.stderr });
  },
);
keysFileOption(keys.command("revoke <name>").description("Remove a key from the settings file: it no longer authenticates.")).action(async (name: string, opts: { settings?: string }) => {
  const { keysRevokeCommand } = await import("./keys.js");
  process.exitCode = keysRevokeCommand({ name, file: opts.settings, cwd: process.cwd(), env: process.env }, { out: process.stdout, err: process.stderr });
});

program
  .command("trust [dir]")
  .description("Trust the exact content of DIR's project and local settings (default: the current directory), after showing what that lets them do; until then they may only tighten your policy.")
  .option("--dry-run", "show what trusting would change; record nothing")
  .option("--list", "list the trusted settings files and whether they changed since")
  .option("--revoke", "forget the trust of DIR's settings files")
  .addHelpText("after", EXIT_HELP.trust)
  .action(async (dir: string | undefined, opts: { dryRun?: boolean; list?: boolean; revoke?: boolean }) => {
    const { trustCommand } = await import("./trust.js");
    process.exitCode = await trustCommand({ dir, dryRun: opts.dryRun, list: opts.list, revoke: opts.revoke, cwd: process.cwd(), env: process.env }, process.stdout, process.stderr);
  });

const deploy = program.command("deploy").description("Deployment manifests for running `serve` on a platform.");
deploy
  .command("kubernetes")
  .description("Print the hardened Kubernetes manifests (gateway Deployment, Service, PDB, HPA, ConfigMap, NetworkPolicies, upstream servers) for the values given; see deploy/helm/mcp-warden/values.yaml.")
  .option("--values <file>", "a values file (YAML or JSON); repeat to layer several, later ones win", (f: string, acc: string[]) => [...acc, f], [] as string[])
  .option("--settings <file>", "the gateway's settings.json, put into the ConfigMap (replaces values.settings)")
  .addHelpText("after", "\nExit codes:\n  0  printed\n  2  a values or settings file could not be read or is not valid (nothing printed)")
  .action(async (opts: { values: string[]; settings?: string }) => {
    const { deployKubernetesCommand } = await import("./deploy.js");
    process.exitCode = deployKubernetesCommand(opts, { out: process.stdout, err: process.stderr });
  });

settingsOption(
  program
    .command("incident <server>")
    .description(
      "Incident response for one server, as a report: 1 contain it (only with --disable, --remove or --deny), 2 review its activity, 3 what it touched and held, 4 the credentials to rotate, 5 the policy to change; with the audit log's verify status.",
    )
    .option("--since <time>", "activity since: ISO time or a duration ago (30m, 24h, 7d)", "7d")
    .option("--until <time>", "activity until: ISO time or a duration ago (default: now)")
    .option("--disable", "contain: disable the server in the layer that defines it (as `servers disable`)")
    .option("--remove", "contain: remove the server from the layer that defines it (as `servers remove`)")
    .option("--deny", "contain: add it to deniedMcpServers (and disable it, unless --remove)")
    .addOption(new Option("--layer <layer>", "settings layer to write").choices(["managed", "local", "project", "user"]))
    .option("--json", "the report as JSON")
    .option("--markdown", "the report as Markdown (the default)")
    .option("--out <file>", "write the report to this file (mode 0600) instead of stdout")
    .addHelpText("after", EXIT_HELP.incident),
).action(
  async (
    server: string,
    opts: { since?: string; until?: string; disable?: boolean; remove?: boolean; deny?: boolean; layer?: string; json?: boolean; markdown?: boolean; out?: string; settings: string[] },
  ) => {
    const settings = await loadOrExit(opts.settings);
    const postgres = await postgresUrlOrExit(settings.state);
    const { incidentCommand } = await import("./incident.js");
    const { settings: _files, ...rest } = opts;
    process.exitCode = await incidentCommand({ ...rest, server, settings, ...(postgres !== undefined ? { postgres } : {}), cwd: process.cwd(), env: process.env }, process.stdout);
  },
);

program
  .command("doctor")
  .description("Report what this machine supports: Node, sandbox backends, settings files, state directories.")
  .option("--json", "print JSON")
  .addHelpText("after", EXIT_HELP.doctor)
  .action(async (opts: { json?: boolean }) => {
    const { doctorCommand } = await import("./doctor.js");
    process.exitCode = await doctorCommand({ json: opts.json, cwd: process.cwd(), env: process.env }, process.stdout);
  });

// The subcommands of a group share the group's exit codes.
for (const [group, help] of [[approvals, EXIT_HELP.approvals], [pins, EXIT_HELP.pins], [keys, EXIT_HELP.keys]] as const) for (const sub of group.commands) sub.addHelpText("after", help);

// Every command, subcommands included (commander copies this setting only to commands made after it):
// help and version exit 0, any usage error 2, as each command's --help says.
const exitCodesOf = (cmd: Command): void => {
  cmd.exitOverride((err) => {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help") process.exit(EXIT.ok);
    process.exit(EXIT.usage);
  });
  for (const sub of cmd.commands) exitCodesOf(sub);
};
exitCodesOf(program);

await program.parseAsync(process.argv);
