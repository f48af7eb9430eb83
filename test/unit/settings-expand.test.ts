// ${VAR} expansion in server entries.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SettingsError, expandServerEntry, expandString, referencedVariables } from "../../src/settings/index.js";

const where = { file: "/p/settings.json", path: "mcpServers.s.args[0]" };
const env = { HOME: "/home/u", TOKEN: "t0k", EMPTY: "" };

function expandFails(text: string, e: NodeJS.ProcessEnv = env): SettingsError {
  try {
    expandString(text, e, where);
  } catch (error) {
    assert.ok(error instanceof SettingsError);
    assert.equal(error.file, where.file);
    assert.equal(error.path, where.path);
    return error;
  }
  assert.fail(`expanded without error: ${text}`);
}

test("${VAR} is replaced by its value", () => {
  assert.equal(expandString("a-${TOKEN}-b", env, where), "a-t0k-b");
});

test("${VAR:-default} uses the default when VAR is unset or empty, and the value otherwise", () => {
  assert.equal(expandString("${NOPE:-fallback}", env, where), "fallback");
  assert.equal(expandString("${EMPTY:-fallback}", env, where), "fallback");
  assert.equal(expandString("${TOKEN:-fallback}", env, where), "t0k");
  assert.equal(expandString("x${NOPE:-}y", env, where), "xy");
});

test("$$ is a literal $, and a lone $ stays as it is", () => {
  assert.equal(expandString("cost: $$5 and $${TOKEN}", env, where), "cost: $5 and ${TOKEN}");
  assert.equal(expandString("^a$", env, where), "^a$");
});

test("a set but empty variable expands to empty without error", () => {
  assert.equal(expandString("[${EMPTY}]", env, where), "[]");
});

test("a missing variable without default is an error naming the variable", () => {
  assert.ok(expandFails("${GITHUB_TOKEN}").message.includes("GITHUB_TOKEN"));
});

test("an unclosed ${ is an error", () => {
  assert.ok(expandFails("abc ${TOKEN").message.includes("unclosed"));
});

test("an invalid variable name is an error", () => {
  assert.ok(expandFails("${A-B}").message.includes("invalid variable name"));
  assert.ok(expandFails("${}").message.includes("invalid variable name"));
});

test("a bare $NAME is an error rather than passing the text on unexpanded", () => {
  assert.ok(expandFails("$HOME/bin").message.includes("${HOME}"));
});

test("substituted values are not expanded again", () => {
  assert.equal(expandString("${V}", { V: "${TOKEN}" }, where), "${TOKEN}");
});

test("~/ is left alone, as the MCP client leaves it", () => {
  assert.equal(expandString("~/bin/tool", env, where), "~/bin/tool");
});

test("expandServerEntry expands command, args, env and cwd values but not keys or other fields", () => {
  const entry = {
    command: "${HOME}/bin/srv",
    args: ["--t", "${TOKEN}"],
    env: { "${TOKEN}": "v=${TOKEN}" },
    cwd: "${HOME}/w",
    allowedTools: ["${TOKEN}"],
  };
  const out = expandServerEntry(entry, env, "/f.json", "mcpServers.s");
  assert.deepEqual(out, {
    command: "/home/u/bin/srv",
    args: ["--t", "t0k"],
    env: { "${TOKEN}": "v=t0k" },
    cwd: "/home/u/w",
    allowedTools: ["${TOKEN}"],
  });
  assert.equal(entry.command, "${HOME}/bin/srv", "the input entry is not modified");
});

test("expandServerEntry expands url and header values and reports errors at their JSON path", () => {
  const entry = { url: "${BASE:-https://api.example}/mcp", headers: { Authorization: "Bearer ${TOKEN}" } };
  assert.deepEqual(expandServerEntry(entry, env, "/f.json", "mcpServers.api"), {
    url: "https://api.example/mcp",
    headers: { Authorization: "Bearer t0k" },
  });
  assert.throws(
    () => expandServerEntry({ url: "https://x", headers: { "X-Key": "${NOPE}" } }, env, "/f.json", "mcpServers.api"),
    (e: unknown) => e instanceof SettingsError && e.path === "mcpServers.api.headers.X-Key" && e.message.includes("NOPE"),
  );
});

test("a url that does not expand to http(s) is an error that does not echo the expanded value", () => {
  assert.throws(
    () => expandServerEntry({ url: "${U}" }, { U: "file:///etc/secret-value" }, "/f.json", "mcpServers.api"),
    (e: unknown) => e instanceof SettingsError && e.path === "mcpServers.api.url" && !e.message.includes("secret-value"),
  );
});

test("a command that expands to empty is an error", () => {
  assert.throws(
    () => expandServerEntry({ command: "${EMPTY}" }, env, "/f.json", "mcpServers.s"),
    (e: unknown) => e instanceof SettingsError && e.path === "mcpServers.s.command",
  );
});

test("referencedVariables names the host variables each field is filled from, never values; $$ is no reference", () => {
  const refs = referencedVariables({
    command: "node",
    args: ["--token=${API_TOKEN}", "$${NOT_A_REF}", "${A:-x}${B}"],
    env: { KEY: "${AWS_SECRET_ACCESS_KEY}", PLAIN: "value" },
    cwd: "${HOME}/srv",
  });
  assert.deepEqual(refs, { "args[0]": ["API_TOKEN"], "args[2]": ["A", "B"], "env.KEY": ["AWS_SECRET_ACCESS_KEY"], cwd: ["HOME"] });
  assert.deepEqual(referencedVariables({ url: "https://x.example/${PATH_PART}", headers: { Authorization: "Bearer ${TOKEN}" } }), {
    url: ["PATH_PART"],
    "headers.authorization": ["TOKEN"],
  });
  assert.deepEqual(referencedVariables({ command: "node", args: ["plain"] }), {});
});
