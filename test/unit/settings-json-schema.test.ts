// The JSON Schemas emitted for editors: strict like the zod schema, and written where the build expects.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { test } from "node:test";
import { emitJsonSchemas } from "../../scripts/emit-json-schema.js";

type Schema = Record<string, unknown>;

/**
 * A deliberately small JSON Schema checker: type, properties, additionalProperties, propertyNames,
 * items, anyOf, enum, const, pattern and minLength/maxLength. Enough to see that the emitted schema
 * accepts a real settings file and rejects an unknown field; returns the JSON paths it rejects.
 */
function check(schema: Schema, value: unknown, path = "$"): string[] {
  const errors: string[] = [];
  const type = schema.type as string | undefined;
  if (type) {
    const actual = value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
    const ok = type === "integer" ? Number.isInteger(value) : type === actual;
    if (!ok) return [`${path}: expected ${type}`];
  }
  if (schema.const !== undefined && schema.const !== value) errors.push(`${path}: expected const`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${path}: not in enum`);
  if (typeof value === "string") {
    if (typeof schema.pattern === "string" && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${path}: pattern`);
    if (typeof schema.minLength === "number" && value.length < schema.minLength) errors.push(`${path}: too short`);
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) errors.push(`${path}: too long`);
  }
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => check(s as Schema, value, path).length === 0))
    errors.push(`${path}: matches no anyOf branch`);
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...check(schema.items as Schema, v, `${path}[${i}]`)));
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [k, v] of Object.entries(value)) {
      if (schema.propertyNames) errors.push(...check(schema.propertyNames as Schema, k, `${path}.${k}(name)`));
      if (Object.hasOwn(props, k)) errors.push(...check(props[k]!, v, `${path}.${k}`));
      else if (schema.additionalProperties === false) errors.push(`${path}.${k}: additional property`);
      else if (typeof schema.additionalProperties === "object") errors.push(...check(schema.additionalProperties as Schema, v, `${path}.${k}`));
    }
    for (const k of (schema.required ?? []) as string[]) if (!Object.hasOwn(value, k)) errors.push(`${path}.${k}: required`);
  }
  return errors;
}

function emitted() {
  const dir = mkdtempSync(join(tmpdir(), "warden-schema-"));
  try {
    const files = emitJsonSchemas(dir);
    return Object.fromEntries(files.map((f) => [basename(f), JSON.parse(readFileSync(f, "utf8")) as Schema]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const example = {
  $schema: "https://mcp-warden.dev/schema/settings.schema.json",
  permissions: { allow: ["mcp__github__get_*"], deny: ["mcp__github__delete_repo"], defaultMode: "default" },
  autoApproveTools: ["mcp__memory__read_graph"],
  mcpServers: {
    github: { command: "npx", args: ["-y", "server-github"], env: { GITHUB_TOKEN: "${GITHUB_TOKEN}" }, startup: "lazy" },
    api: { type: "http", url: "https://api.example/mcp", headers: { Authorization: "Bearer ${API_TOKEN}" } },
  },
  deniedMcpServers: [{ serverName: "evil" }],
  gateway: { separator: "__", restart: { maxRestarts: 3 } },
  audit: { dir: "audit" },
};

test("emits settings and managed-mcp schemas with $id and title", () => {
  const schemas = emitted();
  assert.deepEqual(Object.keys(schemas).sort(), ["managed-mcp.schema.json", "settings.schema.json"]);
  for (const [name, schema] of Object.entries(schemas)) {
    assert.ok(typeof schema.$id === "string" && schema.$id === `urn:mcp-warden:schema:${name}`, name);
    assert.ok(typeof schema.title === "string" && schema.title.length > 0, name);
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  }
});

test("the emitted settings schema accepts a realistic settings file", () => {
  assert.deepEqual(check(emitted()["settings.schema.json"]!, example), []);
});

test("the emitted settings schema rejects an unknown field at the top level and inside a server", () => {
  const schema = emitted()["settings.schema.json"]!;
  assert.deepEqual(check(schema, { ...example, permisions: {} }), ["$.permisions: additional property"]);
  const typo = { mcpServers: { github: { comand: "npx" } } };
  assert.deepEqual(check(schema, typo), ["$.mcpServers.github.comand: additional property"]);
});

test("the emitted settings schema keeps optional fields optional and checks server names", () => {
  const schema = emitted()["settings.schema.json"]!;
  assert.deepEqual(check(schema, {}), []);
  assert.notDeepEqual(check(schema, { mcpServers: { "a__b": { command: "x" } } }), []);
});

test("the emitted managed-mcp schema requires mcpServers and is strict", () => {
  const schema = emitted()["managed-mcp.schema.json"]!;
  assert.deepEqual(check(schema, { mcpServers: { corp: { command: "corp" } } }), []);
  assert.deepEqual(check(schema, {}), ["$.mcpServers: required"]);
  assert.deepEqual(check(schema, { mcpServers: {}, permissions: {} }), ["$.permissions: additional property"]);
});
