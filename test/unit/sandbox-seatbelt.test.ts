// The seatbelt backend: the SBPL profile it generates, parsed back and checked rule by rule (this is
// not macOS, so sandbox-exec itself never runs here), the escaping of hostile paths, and the launch.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { SANDBOX_EXEC, sbplString, seatbelt, seatbeltBackend, seatbeltProfile } from "../../src/sandbox/seatbelt.js";
import type { SandboxContext, SandboxPolicy } from "../../src/sandbox/types.js";

// ---------------------------------------------------------------------------------------------
// A small SBPL reader: lists, symbols and string literals with \" and \\ escapes, ; comments.

type Sexp = string | { str: string } | Sexp[];

function parse(text: string): Sexp[] {
  let i = 0;
  const form = (): Sexp => {
    const c = text[i];
    if (c === "(") {
      i++;
      const list: Sexp[] = [];
      for (;;) {
        skip();
        if (i >= text.length) throw new Error("unbalanced (");
        if (text[i] === ")") {
          i++;
          return list;
        }
        list.push(form());
      }
    }
    if (c === '"') {
      i++;
      let s = "";
      for (;;) {
        const d = text[i++];
        if (d === undefined) throw new Error("unterminated string");
        if (d === '"') return { str: s };
        if (d === "\\") {
          const e = text[i++];
          if (e !== '"' && e !== "\\") throw new Error(`unknown escape \\${e}`);
          s += e;
        } else if (d === "\n") throw new Error("raw newline in a string");
        else s += d;
      }
    }
    if (c === ")") throw new Error("unbalanced )");
    const m = /^[^\s()";]+/.exec(text.slice(i));
    if (!m) throw new Error(`unexpected ${JSON.stringify(c)} at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const skip = () => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i] ?? "")) i++;
      if (text[i] === ";") while (i < text.length && text[i] !== "\n") i++;
      else return;
    }
  };
  const out: Sexp[] = [];
  for (skip(); i < text.length; skip()) out.push(form());
  return out;
}

interface Rule {
  action: string;
  ops: string[];
  filters: { kind: string; args: (string | { str: string } | Sexp[])[] }[];
}

/** The top-level allow/deny rules, in order. */
function rules(profile: string): Rule[] {
  const out: Rule[] = [];
  for (const f of parse(profile)) {
    assert.ok(Array.isArray(f), "every top-level form is a list");
    const [head, ...rest] = f;
    if (head !== "allow" && head !== "deny") continue;
    const ops = rest.filter((x): x is string => typeof x === "string");
    const filters = rest.filter((x): x is Sexp[] => Array.isArray(x)).map(([kind, ...args]) => ({ kind: String(kind), args }));
    out.push({ action: head, ops, filters });
  }
  return out;
}
const str = (x: unknown) => (typeof x === "object" && x !== null && "str" in x ? (x as { str: string }).str : undefined);
/** Paths a rule names with a given filter kind. */
const paths = (r: Rule, kind: string) => r.filters.filter((f) => f.kind === kind).map((f) => str(f.args[0]));
/** Index of the last rule with this action and operation that names `p` as `kind`. */
function lastIndex(rs: Rule[], action: string, op: string, kind: string, p: string): number {
  let at = -1;
  rs.forEach((r, i) => {
    if (r.action === action && r.ops.includes(op) && paths(r, kind).includes(p)) at = i;
  });
  return at;
}
const index = (rs: Rule[], action: string, op: string) => rs.findIndex((r) => r.action === action && r.ops.includes(op) && r.filters.length === 0);

// ---------------------------------------------------------------------------------------------

const root = realpathSync(mkdtempSync(join(tmpdir(), "warden-sbx-")));
after(() => rmSync(root, { recursive: true, force: true }));
const home = join(root, "home");
const project = join(home, "project");
for (const d of [join(home, ".ssh"), join(project, ".git/hooks"), join(project, "out")]) mkdirSync(d, { recursive: true });
writeFileSync(join(project, ".env"), "T=1");
writeFileSync(join(home, ".netrc"), "machine x");

const policy = (fs: Partial<SandboxPolicy["filesystem"]> = {}, over: Partial<SandboxPolicy> = {}): SandboxPolicy => ({
  type: "seatbelt",
  filesystem: { allowRead: [], denyRead: [], allowWrite: [], denyWrite: [], ...fs },
  network: {},
  limits: {},
  env: [],
  ...over,
});
const ctx = (over: Partial<SandboxContext> = {}): SandboxContext => ({ home, mandatoryDeny: [join(home, ".ssh"), join(home, ".netrc"), join(home, ".aws")], ...over });

describe("seatbelt profile: structure", () => {
  const profile = seatbeltProfile(policy({ allowWrite: [project] }), ctx());
  const rs = rules(profile);
  it("starts with (version 1) and (deny default), and parses as SBPL", () => {
    const forms = parse(profile);
    assert.deepEqual(forms[0], ["version", "1"]);
    assert.deepEqual(forms[1], ["deny", "default"]);
  });
  it("lets the server exec and fork, and signal only its own sandbox", () => {
    assert.ok(index(rs, "allow", "process-exec") >= 0);
    assert.ok(index(rs, "allow", "process-fork") >= 0);
    const signal = rs.find((r) => r.ops.includes("signal"));
    assert.deepEqual(signal?.filters, [{ kind: "target", args: ["same-sandbox"] }]);
  });
  it("reads everywhere, then denies the mandatory paths: subpath for directories and missing paths, literal for files", () => {
    const allowAll = index(rs, "allow", "file-read*");
    assert.ok(allowAll >= 0);
    assert.ok(lastIndex(rs, "deny", "file-read*", "subpath", join(home, ".ssh")) > allowAll);
    assert.ok(lastIndex(rs, "deny", "file-read*", "subpath", join(home, ".aws")) > allowAll, "a path that does not exist yet");
    assert.ok(lastIndex(rs, "deny", "file-read*", "literal", join(home, ".netrc")) > allowAll);
  });
  it("writes only under allowWrite, and never to a denied path", () => {
    assert.equal(index(rs, "allow", "file-write*"), -1, "no blanket write allow");
    const allowW = lastIndex(rs, "allow", "file-write*", "subpath", project);
    assert.ok(allowW >= 0);
    assert.ok(lastIndex(rs, "deny", "file-write*", "subpath", join(home, ".ssh")) > allowW);
    assert.ok(lastIndex(rs, "deny", "file-write*", "literal", join(home, ".netrc")) > allowW);
  });
  it("has no network rule at all without the egress bridge", () => {
    assert.ok(!rs.some((r) => r.ops.some((o) => o.startsWith("network"))));
  });
});

describe("seatbelt profile: denies under allows", () => {
  const p = policy({ allowWrite: [project], denyWrite: [join(project, ".git/hooks")], denyRead: [join(project, ".env"), join(project, "secrets")] });
  const rs = rules(seatbeltProfile(p, ctx()));
  it("a denyWrite path inside allowWrite is denied after the allow (later rules win)", () => {
    const allowW = lastIndex(rs, "allow", "file-write*", "subpath", project);
    assert.ok(lastIndex(rs, "deny", "file-write*", "subpath", join(project, ".git/hooks")) > allowW);
    assert.equal(lastIndex(rs, "deny", "file-read*", "subpath", join(project, ".git/hooks")), -1, "denyWrite alone leaves it readable");
  });
  it("a denyRead path is unreadable and unwritable", () => {
    assert.ok(lastIndex(rs, "deny", "file-read*", "literal", join(project, ".env")) > index(rs, "allow", "file-read*"));
    assert.ok(lastIndex(rs, "deny", "file-write*", "literal", join(project, ".env")) > lastIndex(rs, "allow", "file-write*", "subpath", project));
    assert.ok(lastIndex(rs, "deny", "file-read*", "subpath", join(project, "secrets")) >= 0);
  });
  it("denies unlinking and creating every ancestor of a denied path, so it cannot be moved away", () => {
    const denied = join(project, ".git/hooks");
    const allowW = lastIndex(rs, "allow", "file-write*", "subpath", project);
    const anc: string[] = [];
    for (let d = join(denied, ".."); d !== "/"; d = join(d, "..")) anc.push(d);
    assert.ok(anc.includes(project) && anc.includes(join(project, ".git")));
    for (const a of anc) {
      assert.ok(lastIndex(rs, "deny", "file-write-unlink", "literal", a) > allowW, a);
      assert.ok(lastIndex(rs, "deny", "file-write-create", "literal", a) > allowW, a);
    }
    for (const a of [join(home, ".ssh", ".."), home]) assert.ok(lastIndex(rs, "deny", "file-write-unlink", "literal", a) >= 0, "mandatory denies' ancestors too");
    assert.ok(!rs.some((r) => paths(r, "literal").includes("/") && r.ops.includes("file-write-unlink")), "not / itself");
  });
});

describe("seatbelt profile: the names the kernel sees", () => {
  it("adds the /private form of /tmp, /var and /etc paths, and the plain form of /private ones", () => {
    const rs = rules(seatbeltProfile(policy({ denyRead: ["/tmp/warden-none/x", "/private/var/db/y"], allowWrite: ["/var/folders/zz/T"] }), ctx({ mandatoryDeny: [] })));
    for (const p of ["/tmp/warden-none/x", "/private/tmp/warden-none/x", "/private/var/db/y", "/var/db/y"]) assert.ok(lastIndex(rs, "deny", "file-read*", "subpath", p) >= 0, p);
    for (const p of ["/var/folders/zz/T", "/private/var/folders/zz/T"]) assert.ok(lastIndex(rs, "allow", "file-write*", "subpath", p) >= 0, p);
  });
  it("adds the resolved path of a symlink", () => {
    const link = join(root, "proj-link");
    if (!existsSync(link)) symlinkSync(project, link);
    const rs = rules(seatbeltProfile(policy({ allowWrite: [link], denyRead: [join(link, ".env")] }), ctx({ mandatoryDeny: [] })));
    assert.ok(lastIndex(rs, "allow", "file-write*", "subpath", link) >= 0);
    assert.ok(lastIndex(rs, "allow", "file-write*", "subpath", project) >= 0);
    assert.ok(lastIndex(rs, "deny", "file-read*", "literal", join(project, ".env")) >= 0);
  });
});

describe("seatbelt profile: network", () => {
  it("allows only the proxy's port on localhost when the egress bridge is set up", () => {
    const rs = rules(seatbeltProfile(policy({}, { network: { allowedDomains: ["github.com"] } }), ctx({ bridge: { node: "/n", script: "/s", port: 41234 } })));
    const net = rs.filter((r) => r.ops.some((o) => o.startsWith("network")));
    assert.equal(net.length, 1);
    assert.equal(net[0]?.action, "allow");
    assert.deepEqual(net[0]?.ops, ["network-outbound"]);
    assert.deepEqual(net[0]?.filters, [{ kind: "remote", args: ["ip", { str: "localhost:41234" }] }]);
  });
  it("allows no network when the policy allows domains but no bridge exists", () => {
    const rs = rules(seatbeltProfile(policy({}, { network: { allowedDomains: ["github.com"] } }), ctx()));
    assert.ok(!rs.some((r) => r.ops.some((o) => o.startsWith("network"))));
  });
  it("refuses a bad port and Unix sockets", () => {
    assert.throws(() => seatbeltProfile(policy(), ctx({ bridge: { node: "/n", script: "/s", port: 70000 } })), /port/);
    assert.throws(() => seatbeltProfile(policy({}, { network: { allowUnixSockets: ["/var/run/docker.sock"] } as SandboxPolicy["network"] }), ctx()), /allowUnixSockets/);
  });
});

describe("seatbelt profile: escaping", () => {
  it("escapes quotes and backslashes in SBPL strings", () => {
    assert.equal(sbplString('a"b'), '"a\\"b"');
    assert.equal(sbplString("a\\b"), '"a\\\\b"');
    assert.equal(sbplString('\\"'), '"\\\\\\""');
    assert.equal(sbplString("/Users/ü/ñ"), '"/Users/ü/ñ"');
  });
  it("keeps hostile paths inside their string: they parse back unchanged and add no rule", () => {
    const hostile = ['/tmp/a"b', "/tmp/a\\b", '/tmp/x"))(allow default)(allow file-write* (subpath "/x', "/tmp/y\\\"))(allow network*)(;", "/tmp/(z) ;c"];
    const profile = seatbeltProfile(policy({ denyRead: hostile, allowWrite: ["/tmp/w\\\"(allow default)"] }), ctx({ mandatoryDeny: [] }));
    const rs = rules(profile);
    for (const p of hostile) assert.ok(lastIndex(rs, "deny", "file-read*", "subpath", p) >= 0, p);
    assert.ok(lastIndex(rs, "allow", "file-write*", "subpath", "/tmp/w\\\"(allow default)") >= 0);
    assert.ok(!rs.some((r) => r.action === "allow" && (r.ops.includes("default") || r.ops.includes("network*"))), "no injected rule");
    assert.ok(!rs.some((r) => r.action === "allow" && r.ops.includes("file-write*") && paths(r, "subpath").includes("/")));
    assert.equal(rs.filter((r) => r.action === "allow" && r.ops.includes("file-read*")).length, 1);
    assert.ok(profile.includes('"/tmp/a\\"b"') && profile.includes('"/tmp/a\\\\b"'));
  });
  it("refuses paths with a newline or another control character, invalid Unicode and relative paths", () => {
    for (const bad of ["/tmp/a\nb", "/tmp/a\rb", "/tmp/a\u0000b", "/tmp/a\tb", "/tmp/a\u007fb", "/tmp/\ud800x"]) {
      assert.throws(() => seatbeltProfile(policy({ denyRead: [bad] }), ctx()), /seatbelt sandbox/, JSON.stringify(bad));
      assert.throws(() => seatbeltProfile(policy({ allowWrite: [bad] }), ctx()), /seatbelt sandbox/, JSON.stringify(bad));
      assert.throws(() => seatbeltProfile(policy(), ctx({ mandatoryDeny: [bad] })), /seatbelt sandbox/, JSON.stringify(bad));
    }
    assert.throws(() => sbplString("a\nb"), /control character/);
    assert.throws(() => seatbeltProfile(policy({ allowRead: ["a\nb"] }), ctx()), /not an absolute path/);
    assert.throws(() => seatbeltProfile(policy({ denyWrite: ["relative"] }), ctx()), /not an absolute path/);
  });
});

describe("seatbelt profile: what it cannot do", () => {
  it("refuses resource limits, an image, a runtime and another backend's policy", () => {
    assert.throws(() => seatbeltProfile(policy({}, { limits: { memory: "1g" } }), ctx()), /resource limits \(memory\)/);
    assert.throws(() => seatbeltProfile(policy({}, { image: "alpine" }), ctx()), /image/);
    assert.throws(() => seatbeltProfile(policy({}, { runtime: "runsc" }), ctx()), /runtime/);
    assert.throws(() => seatbeltProfile(policy({}, { type: "docker" }), ctx()), /docker sandbox, not seatbelt/);
  });
});

describe("seatbelt backend", () => {
  it("is available only on macOS with sandbox-exec", () => {
    const linux = seatbeltBackend({ platform: "linux" }).available();
    assert.ok(!linux.ok && /only on macOS/.test(linux.why));
    const noExe = seatbeltBackend({ platform: "darwin", sandboxExec: join(root, "no-sandbox-exec") }).available();
    assert.ok(!noExe.ok && /missing/.test(noExe.why));
    assert.deepEqual(seatbeltBackend({ platform: "darwin", sandboxExec: process.execPath }).available(), { ok: true });
    assert.equal(seatbelt.type, "seatbelt");
    if (process.platform !== "darwin") assert.equal(seatbelt.available().ok, false);
  });
  it("wraps the command in sandbox-exec -p PROFILE -- command args, with a private writable TMPDIR", () => {
    const tmpRoot = join(root, "tmproot");
    mkdirSync(tmpRoot, { recursive: true });
    const l = seatbeltBackend({ tmpRoot }).wrap({ command: "-node", args: ["s.js", "--flag"], env: { A: "1" }, cwd: project }, policy({ allowWrite: [project] }), ctx());
    assert.equal(l.command, SANDBOX_EXEC);
    assert.equal(l.args[0], "-p");
    assert.deepEqual(l.args.slice(2), ["--", "-node", "s.js", "--flag"]);
    assert.equal(l.cwd, project);
    assert.deepEqual(l.extraFds, []);
    assert.deepEqual(Object.keys(l.env).sort(), ["A", "TMPDIR"]);
    const tmp = l.env.TMPDIR ?? "";
    assert.ok(existsSync(tmp) && tmp.startsWith(tmpRoot));
    const rs = rules(l.args[1] ?? "");
    assert.ok(lastIndex(rs, "allow", "file-write*", "subpath", tmp) >= 0, "the private tmp dir is writable");
    l.cleanup();
    l.cleanup();
    assert.ok(!existsSync(tmp));
  });
  it("keeps the server's own TMPDIR, and removes the tmp dir when the policy is refused", () => {
    const tmpRoot = join(root, "tmproot2");
    mkdirSync(tmpRoot, { recursive: true });
    const b = seatbeltBackend({ tmpRoot });
    const l = b.wrap({ command: "node", args: [], env: { TMPDIR: "/x" } }, policy(), ctx());
    assert.equal(l.env.TMPDIR, "/x");
    l.cleanup();
    assert.throws(() => b.wrap({ command: "node", args: [], env: {} }, policy({ denyRead: ["/a\nb"] }), ctx()));
    assert.deepEqual(readdirSync(tmpRoot), []);
    assert.throws(() => b.wrap({ command: "", args: [], env: {} }, policy(), ctx()), /no command/);
  });
});
