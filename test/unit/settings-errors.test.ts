// parseSettingsText: strict JSON and the schema, with errors that name file, path and the problem.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SettingsError, parseJson, parseSettingsObject, parseSettingsText } from "../../src/settings/index.js";

const FILE = "/x/.mcp-warden/settings.json";

function fails(text: string): SettingsError {
  try {
    parseSettingsText(text, FILE);
  } catch (error) {
    assert.ok(error instanceof SettingsError, `expected a SettingsError, got ${String(error)}`);
    assert.equal(error.file, FILE);
    return error;
  }
  assert.fail(`accepted: ${text}`);
}

test("a valid settings file parses to the same data", () => {
  const data = {
    $schema: "./settings.schema.json",
    permissions: { allow: ["mcp__github__get_*"], deny: ["Bash(rm:*)"], defaultMode: "plan" },
    mcpServers: { github: { command: "gh", args: ["mcp"], env: { A: "1" } }, api: { url: "https://x.example/mcp" } },
    gateway: { separator: "__", restart: { maxRestarts: 2 } },
  };
  assert.deepEqual(parseSettingsText(JSON.stringify(data), FILE), data);
});

test("a misspelled field names its path, says it is unknown and suggests the right one", () => {
  const e = fails('{"mcpServers": {"github": {"comand": "gh"}}}');
  assert.equal(e.path, "mcpServers.github.comand");
  assert.ok(e.message.startsWith(`${FILE}: at mcpServers.github.comand: unknown field 'comand' (did you mean 'command'?)`), e.message);
});

test("an unknown top-level field far from any known one gets no suggestion", () => {
  const e = fails('{"frobnicate": true}');
  assert.equal(e.message, `${FILE}: at frobnicate: unknown field 'frobnicate'`);
});

test("a wrong type names the array index and both types", () => {
  const e = fails('{"mcpServers": {"github": {"command": "gh", "args": ["a", "b", 3]}}}');
  assert.equal(e.path, "mcpServers.github.args[2]");
  assert.equal(e.message, `${FILE}: at mcpServers.github.args[2]: expected string, got number`);
});

test("several problems are all reported, one per line, first one on the error's path", () => {
  const e = fails('{"gateway": {"callTimeoutMs": "soon", "startup": "now"}}');
  const lines = e.message.split("\n");
  assert.equal(lines.length, 2, e.message);
  assert.ok(lines.every((l) => l.startsWith(`${FILE}: at gateway.`)), e.message);
  assert.equal(e.issues.length, 2);
  assert.equal(e.path, e.issues[0]?.path);
  assert.ok(e.message.includes('expected one of "eager", "lazy", got "now"'), e.message);
});

test("an integer field given a fraction says integer", () => {
  assert.ok(fails('{"audit": {"fsyncIntervalMs": 1.5}}').message.endsWith("at audit.fsyncIntervalMs: expected integer, got number"));
});

test("a JSON syntax error gives line and column", () => {
  const e = fails('{\n  "permissions": {\n    "deny": ["a",]\n  }\n}');
  assert.equal(e.line, 3);
  assert.equal(e.column, 18);
  assert.ok(e.message.startsWith(`${FILE}: at line 3, column 18 (permissions.deny): JSON syntax error: trailing comma`), e.message);
});

test("unterminated input reports the end of file", () => {
  const e = fails('{"permissions": {"deny": ["a"]');
  assert.equal(e.line, 1);
  assert.ok(e.message.includes("end of file"), e.message);
});

test("a duplicate key is an error instead of silently replacing the first value", () => {
  const e = fails('{"permissions": {"deny": ["Bash"], "deny": []}}');
  assert.equal(e.path, "permissions.deny");
  assert.ok(e.message.includes('duplicate property "deny"'), e.message);
});

test("a __proto__ key is refused", () => {
  assert.equal(fails('{"mcpServers": {"__proto__": {"command": "x"}}}').path, "mcpServers.__proto__");
});

test("comments, an empty file and trailing garbage are errors", () => {
  assert.ok(fails('{} // done').message.includes("comments are not allowed"));
  assert.ok(fails("  \n").message.includes("empty"));
  assert.ok(fails("{} {}").message.includes("after the end"));
});

test("every JSON syntax error names the file, line:column and the path it was found at", () => {
  const cases: [string, number, number, string, string][] = [
    ['{"permissions": {"deny": ["a"],}}', 1, 32, "permissions", "trailing comma before '}'"],
    ['{"a": {"b": 1, "b": 2}}', 1, 16, "a.b", 'duplicate property "b"'],
    ['{"x": [1, {"__pro\\u0074o__": 1}]}', 1, 12, "x[1].__proto__", "'__proto__' is not allowed"],
    ['{\n  "a": /* why */ 1\n}', 2, 8, "a", "comments are not allowed"],
    ['{"a": [1, tru]}', 1, 11, "a[1]", "unexpected 'tru', expected a value"],
    ['{"a":\u00a01}', 1, 6, "a", "unexpected character U+00A0"],
    ['{"a": {"b": 1', 1, 14, "a", "unexpected end of file"],
  ];
  for (const [text, line, column, path, message] of cases) {
    const e = fails(text);
    assert.deepEqual([e.line, e.column, e.path], [line, column, path], `${text}: ${e.message}`);
    assert.ok(e.message.startsWith(`${FILE}: at line ${line}, column ${column} (${path}): JSON syntax error: ${message}`), e.message);
  }
});

test("nesting deeper than 64 levels is refused before the parser's recursion can exhaust the stack", () => {
  assert.ok(fails("[".repeat(100_000)).message.includes("nested deeper than 64 levels"));
  const e = fails(`{"a": ${"[".repeat(70)}1${"]".repeat(70)}}`);
  assert.deepEqual([e.line, e.column, e.path], [1, 71, `a${"[0]".repeat(64)}`], e.message);
  assert.ok(Array.isArray(parseJson(`${"[".repeat(65)}${"]".repeat(65)}`, FILE))); // the root and 64 levels inside it
});

test("parsed objects are plain objects with own, writable properties", () => {
  const v = parseJson('{"a": {"b": [{"c": 1}]}}', FILE) as { a: { b: [{ c: number }] } };
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.equal(Object.getPrototypeOf(v.a.b[0]), Object.prototype);
  assert.deepEqual(v, { a: { b: [{ c: 1 }] } });
});

test("a file that is not an object says what it is", () => {
  assert.equal(fails("[]").message, `${FILE}: expected object, got array`);
});

test("invalid UTF-8 escapes and raw control characters are refused", () => {
  assert.ok(fails('{"$schema": "\\x"}').message.includes("invalid escape"));
  assert.ok(fails('{"$schema": "a\tb"}').message.includes("control character"));
});

test("a leading byte order mark is accepted", () => {
  assert.deepEqual(parseSettingsText('\uFEFF{"permissions": {}}', FILE), { permissions: {} });
});

test("a bad server name is reported at mcpServers.<name> with the naming rule", () => {
  const e = fails('{"mcpServers": {"git hub": {"command": "gh"}}}');
  assert.equal(e.path, 'mcpServers["git hub"]');
  assert.ok(e.message.includes("a server name is letters, digits"), e.message);
});

test("a server matcher with two forms says exactly one form is expected", () => {
  const e = fails('{"deniedMcpServers": [{"serverName": "a", "serverUrl": "https://x"}]}');
  assert.equal(e.path, "deniedMcpServers[0]");
  assert.ok(e.message.includes("exactly one of"), e.message);
});

test("a server matcher of the right form with a wrong value points inside it", () => {
  const e = fails('{"allowedMcpServers": [{"serverCommand": "npx"}]}');
  assert.equal(e.path, "allowedMcpServers[0].serverCommand");
  assert.ok(e.message.endsWith("expected array, got string"), e.message);
});

test("a stdio server without command is reported at its command", () => {
  const e = fails('{"mcpServers": {"s": {"args": ["x"]}}}');
  assert.equal(e.path, "mcpServers.s.command");
  assert.ok(e.message.includes("needs 'command'"));
});

test("a url that starts with ${VAR} passes the schema (it is checked again after expansion)", () => {
  assert.ok(parseSettingsText('{"mcpServers": {"a": {"url": "${BASE:-https://x.example}/mcp"}}}', FILE));
  assert.equal(fails('{"mcpServers": {"a": {"url": "ftp://x"}}}').path, "mcpServers.a.url");
});

test("a wrong protocol value names the accepted forms", () => {
  const e = fails('{"mcpServers": {"a": {"command": "x", "protocol": "latest"}}}');
  assert.ok(e.message.includes('"legacy", "auto"'), e.message);
});

test("parseSettingsObject validates objects parsed elsewhere, and refuses a __proto__ own key", () => {
  assert.deepEqual(parseSettingsObject({ permissions: { deny: ["A"] } }, "<r>"), { permissions: { deny: ["A"] } });
  assert.throws(() => parseSettingsObject({ permisions: {} }, "<r>"), (e: unknown) => e instanceof SettingsError && e.path === "permisions");
  const raw = JSON.parse('{"mcpServers": {"s": {"command": "x", "env": {"__proto__": "v"}}}}');
  assert.throws(() => parseSettingsObject(raw, "<r>"), (e: unknown) => e instanceof SettingsError && e.path === "mcpServers.s.env.__proto__");
});
