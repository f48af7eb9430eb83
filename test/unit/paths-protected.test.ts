// isProtectedPath: writes there are `ask` even under a broad Edit allow.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isProtectedPath, protectedReason } from "../../src/policy/paths/index.js";

const CTX = { cwd: "/home/u/project", home: "/home/u", extra: ["/home/u/.config/mcp-warden", "/var/log/mcp-warden/audit.jsonl"] };

function prot(p: string, re: RegExp): void {
  const why = isProtectedPath(p, CTX);
  assert.ok(why !== undefined, `${p} should be protected`);
  assert.match(why, re);
}

function free(p: string): void {
  assert.equal(isProtectedPath(p, CTX), undefined, `${p} should not be protected`);
}

describe("isProtectedPath", () => {
  it(".git at any depth, the directory and everything under it", () => {
    prot("/home/u/project/.git/hooks/pre-commit", /\.git/);
    prot("/home/u/project/.git/config", /\.git/);
    prot("/home/u/project/.git", /\.git/);
    prot("/home/u/project/vendor/lib/.git/HEAD", /\.git/);
    prot("/srv/other/.git/config", /\.git/);
  });
  it(".git near-misses are not protected", () => {
    free("/home/u/project/.github/workflows/ci.yml");
    free("/home/u/project/mygit/config");
    free("/home/u/project/.gitignore");
    free("/home/u/project/.gitattributes");
    free("/home/u/project/src/x.git");
    free("/home/u/project/git/hooks");
  });
  it(".claude, .vscode, .mcp-warden directories", () => {
    prot("/home/u/project/.claude/settings.json", /\.claude/);
    prot("/home/u/.claude/settings.json", /\.claude/);
    prot("/home/u/project/.vscode/tasks.json", /\.vscode/);
    prot("/home/u/project/.mcp-warden/settings.json", /mcp-warden/);
    prot("/home/u/project/.mcp-warden", /mcp-warden/);
  });
  it(".idea and .husky directories (editor run configurations, git hooks)", () => {
    prot("/home/u/project/.idea/workspace.xml", /\.idea/);
    prot("/home/u/project/.husky/pre-commit", /\.husky/);
    free("/home/u/project/idea/notes.md");
  });
  it("their near-misses are not protected", () => {
    free("/home/u/project/.claude-notes/a.md");
    free("/home/u/project/claude/a.md");
    free("/home/u/project/.vscode-test/a");
    free("/home/u/project/docs/.mcp-warden.md");
  });
  it(".mcp.json files anywhere, but not look-alikes", () => {
    prot("/home/u/project/.mcp.json", /\.mcp\.json/);
    prot("/home/u/project/sub/.mcp.json", /\.mcp\.json/);
    free("/home/u/project/.mcp.json.bak");
    free("/home/u/project/mcp.json");
  });
  it("shell start-up files in home", () => {
    for (const f of [".bashrc", ".bash_profile", ".profile", ".zshrc", ".zprofile", ".zshenv", ".config/fish/config.fish", ".gitconfig"]) {
      prot(`/home/u/${f}`, /start-up/);
    }
    prot("/home/u/.config/fish/conf.d/extra.fish", /start-up/);
  });
  it("other agents' and editors' configuration directories, at any depth (their MCP servers, rules and tasks run or steer code)", () => {
    for (const d of [".cursor", ".windsurf", ".gemini", ".codex", ".amazonq", ".roo", ".kiro", ".continue", ".zed", ".devcontainer"]) {
      prot(`/home/u/project/${d}/mcp.json`, new RegExp(d.replace(".", "\\.")));
      prot(`/home/u/${d}/settings.json`, new RegExp(d.replace(".", "\\.")));
      prot(`/home/u/project/${d}`, new RegExp(d.replace(".", "\\.")));
    }
    prot("/home/u/project/.cursor/rules/style.mdc", /\.cursor/);
    prot("/home/u/project/.CURSOR/MCP.json", /\.cursor/);
    // Look-alikes are files like any other.
    free("/home/u/project/cursor/mcp.json");
    free("/home/u/project/src/.cursorignore");
    free("/home/u/project/.continue-here.md");
    free("/home/u/project/docs/zed.md");
  });
  it("package managers' and pre-commit's configuration files anywhere (they run code at the next install, script or commit)", () => {
    for (const f of [".npmrc", ".yarnrc", ".yarnrc.yml", ".pre-commit-config.yaml"]) {
      prot(`/home/u/project/${f}`, new RegExp(f.replace(/\./g, "\\.")));
      prot(`/home/u/project/packages/a/${f}`, new RegExp(f.replace(/\./g, "\\.")));
      prot(`/home/u/${f}`, new RegExp(f.replace(/\./g, "\\.")));
    }
    free("/home/u/project/.npmrc.example");
    free("/home/u/project/docs/npmrc.md");
    free("/home/u/project/.pre-commit-config.yaml.bak");
  });
  it("ssh's configuration and session start-up in home (ProxyCommand, authorized_keys, autostart, user services)", () => {
    for (const f of [".ssh/config", ".ssh/authorized_keys", ".ssh", ".config/autostart/x.desktop", ".config/systemd/user/x.service", ".xprofile", ".xinitrc", ".xsession"]) prot(`/home/u/${f}`, /start-up file in home/);
    free("/home/u/project/.ssh/config");
    free("/home/u/project/docs/ssh.md");
  });
  it("start-up file names outside home, or nested in home, are not protected", () => {
    free("/home/u/project/.bashrc");
    free("/home/other/.bashrc");
    free("/home/u/dotfiles/.zshrc");
    free("/home/u/.bashrc.d.bak");
    free("/home/u/.config/fish/other.fish");
    free("/home/u2/.profile");
  });
  it("extra: mcp-warden's own settings and audit paths, by components", () => {
    prot("/home/u/.config/mcp-warden/settings.json", /mcp-warden's own/);
    prot("/home/u/.config/mcp-warden", /mcp-warden's own/);
    prot("/var/log/mcp-warden/audit.jsonl", /mcp-warden's own/);
    free("/home/u/.config/mcp-warden2/settings.json");
    free("/var/log/mcp-warden/audit.jsonl.old");
  });
  it("a relative extra entry is relative to cwd, not to /", () => {
    const ctx = { ...CTX, extra: ["audit"] };
    assert.match(isProtectedPath("/home/u/project/audit/log.jsonl", ctx) ?? "", /mcp-warden's own/);
    assert.equal(isProtectedPath("/audit/log.jsonl", ctx), undefined);
  });
  it("ordinary project files are not protected", () => {
    free("/home/u/project/src/index.ts");
    free("/home/u/project/README.md");
  });
  it("names are compared case-insensitively (fail closed on case-insensitive file systems)", () => {
    prot("/home/u/project/.GIT/config", /\.git/);
    prot("/home/u/project/.Claude/settings.json", /\.claude/);
    prot("/home/u/.BashRC", /start-up/);
    prot("/HOME/U/.config/MCP-WARDEN/x", /mcp-warden's own/);
  });
  it("a relative path is reported, not silently passed", () => {
    assert.ok(isProtectedPath("project/.git", CTX) !== undefined);
  });
  it("protectedReason checks the link and the target", () => {
    assert.match(protectedReason({ link: "/home/u/project/hooks", target: "/home/u/project/.git/hooks" }, CTX) ?? "", /\.git/);
    assert.match(protectedReason({ link: "/home/u/project/.vscode/x", target: "/tmp/x" }, CTX) ?? "", /\.vscode/);
    assert.equal(protectedReason({ link: "/home/u/project/a", target: "/tmp/a" }, CTX), undefined);
  });
});
