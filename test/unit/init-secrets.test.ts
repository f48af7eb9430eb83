// init's split of a server entry into the project form (literal secrets replaced by ${VAR}) and the
// entry as given (for the git-ignored local layer). Each case checks both that the literal is gone
// from the shared form and what reads it instead.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { splitSecrets } from "../../src/cli/init-secrets.js";
import { parseSettingsObject } from "../../src/settings/index.js";

const GHP = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8";

function noLiteral(shared: unknown, ...literals: string[]): void {
  const text = JSON.stringify(shared);
  for (const l of literals) assert.ok(!text.includes(l), `${l} is still in ${text}`);
}

describe("splitSecrets", () => {
  test("a secret-named env value becomes ${NAME}; other env values stay", () => {
    const entry = { command: "npx", args: ["-y", "server-github"], env: { GITHUB_TOKEN: "sekrit-value", LOG_LEVEL: "debug", DB_PASSWORD: "hunter2" } };
    const { shared, moved } = splitSecrets("github", entry);
    assert.deepEqual(shared.env, { GITHUB_TOKEN: "${GITHUB_TOKEN}", LOG_LEVEL: "debug", DB_PASSWORD: "${DB_PASSWORD}" });
    assert.deepEqual(moved, [
      { field: "env.GITHUB_TOKEN", variable: "GITHUB_TOKEN" },
      { field: "env.DB_PASSWORD", variable: "DB_PASSWORD" },
    ]);
    assert.deepEqual(entry.env.GITHUB_TOKEN, "sekrit-value", "the input is not changed");
  });

  test("a value in a known credential format moves whatever its name", () => {
    const { shared, moved } = splitSecrets("gh", { command: "x", env: { SETTING: GHP } });
    noLiteral(shared, GHP);
    assert.deepEqual(moved, [{ field: "env.SETTING", variable: "SETTING" }]);
  });

  test("a value that is only references (and an auth scheme) holds no literal and stays", () => {
    const entry = {
      type: "http",
      url: "${BASE:-https://api.example.com}/mcp?key=${API_KEY}",
      headers: { Authorization: "Bearer ${TOKEN}", "X-Api-Key": "${KEY:-none}" },
    };
    const { shared, moved } = splitSecrets("remote", entry);
    assert.deepEqual(moved, []);
    assert.deepEqual(shared, entry);
  });

  test("a default of 8 characters or more is a literal", () => {
    const { shared, moved } = splitSecrets("s", { command: "x", env: { API_TOKEN: "${API_TOKEN:-fallbacksecret}" } });
    noLiteral(shared, "fallbacksecret");
    assert.equal(moved.length, 1);
  });

  test("an Authorization header keeps its scheme; the credential becomes ${SERVER_HEADER}", () => {
    const { shared, moved } = splitSecrets("remote", { type: "http", url: "https://h.example/mcp", headers: { Authorization: "Bearer sekrit123", Accept: "application/json" } });
    assert.deepEqual(shared.headers, { Authorization: "Bearer ${REMOTE_AUTHORIZATION}", Accept: "application/json" });
    assert.deepEqual(moved, [{ field: "headers.Authorization", variable: "REMOTE_AUTHORIZATION" }]);
  });

  test("a URL's password and credential-named query values become references; the rest of the URL stays readable", () => {
    const { shared, moved } = splitSecrets("remote", { type: "http", url: "https://alice:pw12345678@api.example.com/mcp?key=qsecret&page=2#frag" });
    assert.equal(shared.url, "https://alice:${REMOTE_PASSWORD}@api.example.com/mcp?key=${REMOTE_KEY}&page=2#frag");
    assert.deepEqual(
      moved.map((m) => m.field),
      ["url password", "url query 'key'"],
    );
  });

  test("arguments: after a credential flag, inside one, or in a known format", () => {
    const { shared, moved } = splitSecrets("svc", { command: "run", args: ["--token", "abc123secret", "--api-key=xyz987secret", "--port", "8080", GHP, "--verbose"] });
    assert.deepEqual(shared.args, ["--token", "${SVC_TOKEN}", "--api-key=${SVC_API_KEY}", "--port", "8080", "${SVC_ARG5}", "--verbose"]);
    assert.equal(moved.length, 3);
  });

  test("the same literal in two places becomes one variable", () => {
    const { shared, moved } = splitSecrets("github", { command: "x", args: ["--token", GHP], env: { GITHUB_TOKEN: GHP } });
    assert.deepEqual(shared.args, ["--token", "${GITHUB_TOKEN}"]);
    assert.deepEqual(shared.env, { GITHUB_TOKEN: "${GITHUB_TOKEN}" });
    assert.deepEqual([...new Set(moved.map((m) => m.variable))], ["GITHUB_TOKEN"]);
  });

  test("variable names are valid and distinct across fields of one entry", () => {
    const { moved } = splitSecrets("9srv", { type: "http", url: "https://h.example/?token=aaaaaaaaaa", headers: { token: "bbbbbbbbbb", "x-token": "cccccccccc" } });
    const names = moved.map((m) => m.variable);
    assert.equal(new Set(names).size, names.length);
    for (const n of names) assert.match(n, /^[A-Z_][A-Z0-9_]*$/);
  });

  test("the shared entry is valid settings", () => {
    const { shared } = splitSecrets("remote", { type: "http", url: `https://api.example.com/${GHP}/mcp`, headers: { Authorization: "Basic dXNlcjpwYXNzd29yZA==" } });
    noLiteral(shared, GHP, "dXNlcjpwYXNzd29yZA==");
    assert.equal(shared.url, "${REMOTE_URL}");
    parseSettingsObject({ mcpServers: { remote: shared } }, "shared.json");
  });

  test("an entry without secrets comes back equal", () => {
    const entry = { command: "node", args: ["server.js", "--root", "/srv/data"], env: { NODE_ENV: "production" }, cwd: "/srv" };
    const { shared, moved } = splitSecrets("plain", entry);
    assert.deepEqual(moved, []);
    assert.deepEqual(shared, entry);
  });
});
