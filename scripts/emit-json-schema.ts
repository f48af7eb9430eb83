// Writes the JSON Schemas editors use to check settings files, generated from the zod schema so the
// two never disagree. Run by `npm run build` as `node dist/scripts/emit-json-schema.js`.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as z from "zod/v4";
import { ManagedMcpFile, Settings } from "../src/settings/schema.js";

/** `$id` is only an identifier (a URN, since the project has no web address of its own); nothing fetches it. */
export const SCHEMA_ID_PREFIX = "urn:mcp-warden:schema:";

function build(schema: z.ZodType, file: string, title: string, description: string): Record<string, unknown> {
  // io "input": fields that are optional when written are optional in the schema. Strict objects
  // come out with additionalProperties: false, so editors flag a misspelled field as we do.
  // Refinements (a stdio server needs `command`, ...) cannot be expressed and are left to mcp-warden.
  const { $schema, ...rest } = z.toJSONSchema(schema, { io: "input", target: "draft-2020-12", unrepresentable: "throw" });
  return { $schema, $id: SCHEMA_ID_PREFIX + file, title, description, ...rest };
}

export function buildJsonSchemas(): Record<string, Record<string, unknown>> {
  return {
    "settings.schema.json": build(
      Settings,
      "settings.schema.json",
      "mcp-warden settings",
      "An mcp-warden settings file: user, project, local, command-line or managed layer.",
    ),
    "managed-mcp.schema.json": build(
      ManagedMcpFile,
      "managed-mcp.schema.json",
      "mcp-warden managed MCP servers",
      "managed-mcp.json: when present, the only servers mcp-warden runs.",
    ),
  };
}

/** Writes every schema into `outDir`; returns the files written. */
export function emitJsonSchemas(outDir: string): string[] {
  mkdirSync(outDir, { recursive: true });
  return Object.entries(buildJsonSchemas()).map(([name, schema]) => {
    const file = join(outDir, name);
    writeFileSync(file, JSON.stringify(schema, null, 2) + "\n");
    return file;
  });
}

// Run directly: write into <project>/schema, found from this file (dist/scripts/) rather than the cwd.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = fileURLToPath(new URL("../../schema/", import.meta.url));
  for (const file of emitJsonSchemas(outDir)) process.stdout.write(`wrote ${file}\n`);
}
