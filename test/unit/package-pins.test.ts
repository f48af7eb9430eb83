// Package runners' launches: which package each fetches and whether one exact version is named,
// and managed requirePinnedPackages refusing the servers that do not pin one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compilePolicy } from "../../src/policy/index.js";
import type { ConfiguredServer, PolicyInput } from "../../src/policy/index.js";
import { packageLaunch } from "../../src/policy/package-pins.js";
import { unpinnedPackageNote } from "../../src/settings/package-notes.js";

/** [command line, the package spec read, the exact version or undefined]; undefined spec: none can be told. */
const CASES: [string, string | undefined, string | undefined][] = [
  ["npx -y @modelcontextprotocol/server-github", "@modelcontextprotocol/server-github", undefined],
  ["npx -y @modelcontextprotocol/server-github@2025.4.8", "@modelcontextprotocol/server-github@2025.4.8", "2025.4.8"],
  ["npx --yes mcp-remote@0.1.16 https://example.com/sse", "mcp-remote@0.1.16", "0.1.16"],
  ["npx -y mcp-remote@latest https://example.com/sse", "mcp-remote@latest", undefined],
  ["npx -y mcp-remote@^0.1.0", "mcp-remote@^0.1.0", undefined],
  ["npx -y mcp-remote@0.1", "mcp-remote@0.1", undefined],
  ["npx -y pkg@1.2.3-rc.1+build.5", "pkg@1.2.3-rc.1+build.5", "1.2.3-rc.1+build.5"],
  ["npx --registry https://r.example pkg@1.0.0", "pkg@1.0.0", "1.0.0"],
  ["npx -p @scope/tool@3.1.4 tool-bin --flag", "@scope/tool@3.1.4", "3.1.4"],
  ["npx --package=@scope/tool tool-bin", "@scope/tool", undefined],
  ["npx -y github:user/repo", "github:user/repo", undefined],
  ["npx -y ./local-dir", "./local-dir", undefined],
  ["/usr/local/bin/npx -y pkg@2.0.0", "pkg@2.0.0", "2.0.0"],
  ["npm exec -y -- pkg@1.0.0", "pkg@1.0.0", "1.0.0"],
  ["npm x pkg", "pkg", undefined],
  ["pnpm dlx pkg@4.5.6", "pkg@4.5.6", "4.5.6"],
  ["pnpx pkg", "pkg", undefined],
  ["yarn dlx pkg@1.1.1", "pkg@1.1.1", "1.1.1"],
  ["bunx pkg", "pkg", undefined],
  ["bun x pkg@0.0.1", "pkg@0.0.1", "0.0.1"],
  ["uvx mcp-server-fetch", "mcp-server-fetch", undefined],
  ["uvx mcp-server-fetch==2025.4.7", "mcp-server-fetch==2025.4.7", "2025.4.7"],
  ["uvx mcp-server-fetch>=1.0", "mcp-server-fetch>=1.0", undefined],
  ["uvx --from mcp-server-git==0.6.2 mcp-server-git --repository .", "mcp-server-git==0.6.2", "0.6.2"],
  ["uv tool run mcp-server-time", "mcp-server-time", undefined],
  ["pipx run --spec tool[extra]===1.0 tool", "tool[extra]===1.0", "1.0"],
  ["pipx run tool", "tool", undefined],
  ["npx -y", undefined, undefined],
];

describe("packageLaunch: the package a runner fetches and its exact version", () => {
  for (const [line, spec, version] of CASES) {
    it(`${line} → ${spec ?? "(no package)"}${version ? ` pinned to ${version}` : ", not pinned"}`, () => {
      const [command, ...args] = line.split(" ") as [string, ...string[]];
      const p = packageLaunch(command, args);
      assert.ok(p, "a package runner");
      assert.equal(p.spec, spec);
      assert.equal(p.version, version);
    });
  }
  it("looks through env, npm's npx-cli.js and sh -c: a wrapped npx is judged like a bare one, and a script it cannot read is unpinned", () => {
    const pinned = packageLaunch("env", ["NODE_OPTIONS=--x", "npx", "-y", "pkg@1.2.3"]);
    assert.equal(pinned?.version, "1.2.3");
    assert.equal(packageLaunch("/usr/bin/env", ["npx", "-y", "pkg"])?.version, undefined);
    assert.ok(packageLaunch("/usr/bin/env", ["npx", "-y", "pkg"]), "still a package launch");
    assert.ok(packageLaunch("node", ["/usr/lib/node_modules/npm/bin/npx-cli.js", "-y", "pkg"]), "node running npm's npx-cli.js is npx");
    assert.equal(packageLaunch("node", ["/usr/lib/node_modules/npm/bin/npx-cli.js", "-y", "pkg"])?.version, undefined);
    assert.equal(packageLaunch("node", ["server.js"]), undefined);
    assert.equal(packageLaunch("/usr/lib/node_modules/npm/bin/npx-cli.js", ["-y", "pkg@2.0.0"])?.version, "2.0.0");
    assert.equal(packageLaunch("sh", ["-c", "npx -y pkg@3.1.0"])?.version, "3.1.0");
    const unread = packageLaunch("bash", ["-c", "cd /srv && npx -y pkg@3.1.0"]);
    assert.ok(unread && unread.version === undefined && unread.spec === undefined, "a script with && is not read: unpinned");
    assert.equal(packageLaunch("sh", ["-c", "npm run start"]), undefined, "a script that fetches nothing is no package launch");
    assert.equal(packageLaunch("sh", ["-c", "cd /srv && node server.js"]), undefined);
  });
  it("is undefined for commands that fetch nothing: node, npm run, npm install, pnpm install, uv run, a server binary", () => {
    for (const line of ["node server.js", "npm run start", "npm install", "pnpm install", "uv run server.py", "/opt/mcp/bin/server --stdio", "yarn start", "bun run x.ts"]) {
      const [command, ...args] = line.split(" ") as [string, ...string[]];
      assert.equal(packageLaunch(command, args), undefined, line);
    }
  });
});

function server(name: string, command: string, args: string[]): ConfiguredServer {
  return { name, entry: { command, args }, managed: false, source: { layer: "user", file: "/home/dev/.config/mcp-warden/settings.json", path: `mcpServers.${name}` } };
}

function policy(servers: ConfiguredServer[], requirePinnedPackages: boolean) {
  const input: PolicyInput = { allow: [], ask: [], deny: [], autoApprove: [], defaultMode: "default", bypassDisabled: false, servers, deniedMcpServers: [], exclusiveManagedServers: false };
  if (requirePinnedPackages) input.requirePinnedPackages = true;
  return compilePolicy(input);
}

describe("requirePinnedPackages (managed)", () => {
  const unpinned = server("github", "npx", ["-y", "@modelcontextprotocol/server-github"]);
  const pinned = server("github", "npx", ["-y", "@modelcontextprotocol/server-github@2025.4.8"]);
  const tagged = server("remote", "npx", ["-y", "mcp-remote@latest", "https://example.com/sse"]);
  const local = server("local", "node", ["/opt/mcp/server.js"]);
  it("refuses a server whose package runner names no exact version, saying how to pin", () => {
    const v = policy([unpinned], true).decideServer(unpinned);
    assert.equal(v.decision, "deny");
    assert.match(v.reason, /starts "@modelcontextprotocol\/server-github" through npx without one exact version.*requirePinnedPackages.*@modelcontextprotocol\/server-github@<version>.*npm view/);
    assert.equal(policy([tagged], true).decideServer(tagged).decision, "deny", "a tag is not a version");
  });
  it("allows the pinned one and servers that fetch nothing; without the setting nothing is refused", () => {
    assert.equal(policy([pinned], true).decideServer(pinned).decision, "allow");
    assert.equal(policy([local], true).decideServer(local).decision, "allow");
    assert.equal(policy([unpinned], false).decideServer(unpinned).decision, "allow");
  });
  it("notes an unpinned server (and only that one) for run, serve, doctor and scan", () => {
    assert.match(unpinnedPackageNote(unpinned) ?? "", /server 'github' starts "@modelcontextprotocol\/server-github" through npx without one exact version.*Pin it/);
    assert.equal(unpinnedPackageNote(pinned), undefined);
    assert.equal(unpinnedPackageNote(local), undefined);
  });
});
