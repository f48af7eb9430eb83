// File accesses of programs with a grammar of their own that reaches remote places or
// repositories: scp/rsync-style copies (remote operands are not local files), jq, curl, wget, git
// and openssl. Split from bash-files.ts, which holds the table that refers to these.
import { basename } from "../shell/words.js";
import { hasOption, optionValues, type OptSpec, type ParsedArgs, parseArgs } from "./bash-args.js";
import { subcommandIndex } from "./bash-exec-args.js";
import { acc, BACKUP_OPTS, type Role, type Spec, type View, valueWord, word } from "./bash-files-core.js";
import type { FileAccess } from "./types.js";

function remote(text: string): boolean {
  // `host:path`, `user@host:path`, `rsync://`, `host::module`; a `:` after a `/` is part of a local path.
  const colon = text.indexOf(":");
  const slash = text.indexOf("/");
  return colon > 0 && (slash < 0 || colon < slash);
}

export function copyRemoteAware(recursiveOpts: readonly string[]): Spec["operands"] {
  return (v, p, via) => {
    const recursive = hasOption(p, recursiveOpts);
    const ops = p.operands;
    if (ops.length < 2) return ops.flatMap((o) => (remote(o.text) ? [] : acc(word(v, o.index), "read", via, recursive)));
    const dest = ops[ops.length - 1] as { text: string; index: number };
    const out: FileAccess[] = [];
    for (const s of ops.slice(0, -1)) if (!remote(s.text)) out.push(...acc(word(v, s.index), "read", `${via} (source)`, recursive));
    if (!remote(dest.text)) {
      out.push(...acc(word(v, dest.index), "write", `${via} (destination)`, true));
      if (hasOption(p, BACKUP_OPTS)) out.push(...acc(word(v, dest.index), "read", `${via} (backups of the destination)`, true));
    }
    return out;
  };
}

export function jqAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const out: FileAccess[] = [];
  // --rawfile/--slurpfile NAME FILE take two words; --arg/--argjson NAME VALUE too.
  const skip = new Set<number>();
  v.argv.forEach((w, k) => {
    if (w === "--rawfile" || w === "--slurpfile") {
      if (v.argv[k + 2] !== undefined) out.push(...acc(word(v, k + 2), "read", `${via} ${w}`));
      skip.add(k + 1).add(k + 2);
    } else if (w === "--arg" || w === "--argjson") skip.add(k + 1).add(k + 2);
  });
  let ops = p.operands.filter((o) => !skip.has(o.index));
  if (!hasOption(p, ["-f", "--from-file"])) ops = ops.slice(1);
  for (const f of optionValues(p, ["-f", "--from-file"])) out.push(...acc(valueWord(v, f.index, f.value as string, f.valueIndex), "read", `${via} -f`));
  for (const o of ops) out.push(...acc(word(v, o.index), "read", via));
  return out;
}

const CURL_READ_DATA = ["-d", "--data", "--data-ascii", "--data-binary", "--data-urlencode", "--json"];

export function curlAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const out: FileAccess[] = [];
  const at = (o: { index: number; value?: string; valueIndex?: number }, text: string, role: Role, what: string): void => {
    out.push(...acc(valueWord(v, o.index, text, o.valueIndex), role, `${via} ${what}`));
  };
  for (const o of p.options) {
    const val = o.value;
    if (val === undefined) continue;
    if (CURL_READ_DATA.includes(o.name)) {
      // `@file`, and for --data-urlencode `name@file`.
      const m = /^(?:[^@=]*)@(.+)$/s.exec(val);
      if (m && m[1] !== "-") at(o, m[1] as string, "read", o.name);
    } else if (o.name === "-F" || o.name === "--form") {
      for (const m of val.matchAll(/[=;]\s*[@<]([^;]+)/g)) at(o, (m[1] as string).trim(), "read", o.name);
    } else if (["-T", "--upload-file", "-K", "--config", "--netrc-file", "--cacert", "--cert", "--key", "--proxy-cacert"].includes(o.name)) at(o, val.replace(/:[^/]*$/, (s) => (o.name === "--cert" ? "" : s)), "read", o.name);
    else if ((o.name === "-H" || o.name === "--header" || o.name === "-w" || o.name === "--write-out") && val.startsWith("@")) at(o, val.slice(1), "read", o.name);
    else if (o.name === "-b" || o.name === "--cookie") {
      if (!val.includes("=")) at(o, val, "read", o.name);
    } else if (["-o", "--output", "-D", "--dump-header", "-c", "--cookie-jar", "--trace", "--trace-ascii", "--stderr", "--libcurl", "--etag-save", "--hsts", "--alt-svc"].includes(o.name)) at(o, val, "write", o.name);
  }
  // -O: the remote file's name, in --output-dir or the working directory.
  if (hasOption(p, ["-O", "--remote-name", "--remote-name-all"])) {
    const dir = optionValues(p, ["--output-dir"])[0]?.value;
    for (const u of p.operands) {
      const name = basename(u.text.replace(/[?#].*$/s, ""));
      if (name !== "" && !name.includes(":")) out.push(...acc({ text: dir ? `${dir}/${name}` : name, kind: v.kinds[u.index] ?? "literal" }, "write", `${via} -O`));
    }
  }
  if (hasOption(p, ["-J", "--remote-header-name"])) out.push({ path: "(name chosen by the server)", kind: "unknown", access: "write", via: `${via} -J` });
  return out;
}

export const CURL_SPEC: Spec = {
  opts: {
    short: "dFTKoDcbHwuAeXxmrCEYyzQ",
    long: ["--data", "--data-ascii", "--data-binary", "--data-raw", "--data-urlencode", "--json", "--form", "--form-string", "--upload-file", "--config", "--output", "--output-dir", "--dump-header", "--cookie-jar", "--cookie", "--trace", "--trace-ascii", "--stderr", "--header", "--write-out", "--user", "--user-agent", "--referer", "--request", "--proxy", "--max-time", "--range", "--continue-at", "--cert", "--key", "--cacert", "--netrc-file", "--url", "--connect-timeout", "--retry", "--libcurl", "--etag-save", "--hsts", "--alt-svc", "--proxy-cacert", "--resolve", "--time-cond", "--quote"],
  },
  flags: ["--remote-name", "--remote-name-all", "--remote-header-name", "--silent", "--show-error", "--location", "--fail", "--insecure", "--compressed", "--head", "--include", "--verbose"],
  operands: "none",
};

function wgetAccesses(v: View, p: ParsedArgs, via: string): FileAccess[] {
  const out: FileAccess[] = [];
  let named = false;
  for (const o of p.options) {
    if (o.value === undefined) continue;
    const w = valueWord(v, o.index, o.value, o.valueIndex);
    if (o.name === "-O" || o.name === "--output-document") {
      named = true;
      out.push(...acc(w, "write", `${via} -O`));
    } else if (["-o", "--output-file", "-a", "--append-output"].includes(o.name)) out.push(...acc(w, "write", `${via} ${o.name}`));
    else if (["-i", "--input-file", "--post-file", "--body-file", "--load-cookies", "--certificate", "--private-key", "--ca-certificate"].includes(o.name)) out.push(...acc(w, "read", `${via} ${o.name}`));
    else if (o.name === "--save-cookies") out.push(...acc(w, "write", `${via} ${o.name}`));
    else if (o.name === "-P" || o.name === "--directory-prefix") {
      named = true;
      out.push(...acc(w, "write", `${via} -P`, true));
    }
  }
  if (!named) {
    const recursive = hasOption(p, ["-r", "--recursive", "-m", "--mirror"]);
    if (recursive) out.push(...acc({ text: ".", kind: "literal" }, "write", `${via} -r`, true));
    for (const u of p.operands) {
      const name = basename(u.text.replace(/[?#].*$/s, ""));
      if (name !== "" && !name.includes(":")) out.push(...acc({ text: name, kind: v.kinds[u.index] ?? "literal" }, "write", via));
    }
  }
  return out;
}

export const WGET_SPEC: Spec = {
  opts: { short: "OoaiPeUtTwQlAIDR", long: ["--output-document", "--output-file", "--append-output", "--input-file", "--post-file", "--body-file", "--load-cookies", "--save-cookies", "--directory-prefix", "--execute", "--user-agent", "--tries", "--timeout", "--wait", "--quota", "--level", "--accept", "--reject", "--header", "--post-data", "--method", "--user", "--password", "--certificate", "--private-key", "--ca-certificate"] },
  operands: wgetAccesses,
};

const GIT_READ_SUBS = new Set(["show", "diff", "log", "whatchanged", "blame", "annotate", "grep", "cat-file", "archive", "difftool", "shortlog"]);
const GIT_SUB_SPEC: OptSpec = {
  short: "nLSGOefABCmUoX",
  long: ["--max-count", "--grep", "--author", "--committer", "--since", "--until", "--after", "--before", "--format", "--pretty", "--skip", "--encoding", "--date", "--output", "--output-directory", "--src-prefix", "--dst-prefix", "--contents", "--ignore-rev", "--ignore-revs-file", "--remote", "--prefix", "--max-depth", "--file", "--regexp", "--exec", "--upload-pack"],
};

export function gitAccesses(v: View): FileAccess[] {
  const sub = subcommandIndex({ family: "git", argv: v.argv, dynamic: new Set() });
  if (sub < 0) return [];
  const name = v.argv[sub] as string;
  const via = `git ${name}`;
  const p = parseArgs(v.argv, GIT_SUB_SPEC, sub + 1);
  const out: FileAccess[] = [];
  for (const o of p.options) {
    if (o.value === undefined) continue;
    const w = valueWord(v, o.index, o.value, o.valueIndex);
    if (o.name === "--output" || o.name === "--output-directory" || (o.name === "-o" && (name === "format-patch" || name === "archive"))) out.push(...acc(w, "write", `${via} ${o.name}`, o.name !== "--output"));
    else if (o.name === "--contents" || o.name === "--ignore-revs-file" || (o.name === "-f" && name === "grep") || (o.name === "-O" && name !== "grep") || (o.name === "--file" && name === "grep")) out.push(...acc(w, "read", `${via} ${o.name}`));
    else if (o.name === "-L") {
      const m = /:([^:]+)$/.exec(o.value);
      if (m) out.push(...acc({ text: m[1] as string, kind: w.kind }, "read", `${via} -L`));
    } else if ((o.name === "-f" || o.name === "--file") && name === "config") out.push(...acc(w, "read", `${via} --file`), ...acc(w, "write", `${via} --file`));
  }
  if (GIT_READ_SUBS.has(name)) {
    let ops = p.operands;
    if (name === "grep" && !hasOption(p, ["-e", "--regexp", "-f", "--file"])) ops = ops.slice(1);
    for (const o of ops) {
      // `REV:path` (and `:path`, `:0:path`) names a file of the repository, relative to the working directory's project.
      const m = /^[^:]*:(?:[0-3]:)?(.*)$/s.exec(o.text);
      const text = m && !o.text.includes("://") ? (m[1] as string) : o.text;
      if (text === "") continue;
      const kind = v.kinds[o.index] === "literal" && /[*?[]/.test(text) ? "glob" : (v.kinds[o.index] ?? "literal");
      out.push(...acc({ text, kind }, "read", via));
    }
  }
  if (name === "rm" || name === "mv") for (const o of p.operands) out.push(...acc(word(v, o.index), "write", via, true));
  // `git mv .env x`: the content moves to a name the Read rules do not protect.
  if (name === "mv") for (const o of p.operands.slice(0, -1)) out.push(...acc(word(v, o.index), "read", `${via} (source)`, true));
  if (name === "checkout" || name === "restore") {
    const dd = v.argv.indexOf("--", sub);
    for (const o of p.operands) if (name === "restore" || (dd >= 0 && o.index > dd)) out.push(...acc(word(v, o.index), "write", via, true));
  }
  if (name === "clean") out.push(...acc({ text: ".", kind: "literal" }, "write", via, true));
  if (name === "clone") {
    // The directory named last, or the repository's own name.
    const [url, dir] = p.operands;
    const target = dir ? word(v, dir.index) : url ? { text: basename(url.text.replace(/\/+$/, "")).replace(/\.git$/, ""), kind: v.kinds[url.index] ?? "literal" } : undefined;
    if (target && target.text !== "") out.push(...acc(target, "write", via, true));
  }
  if (name === "apply" || name === "am") {
    for (const o of p.operands) out.push(...acc(word(v, o.index), "read", via));
    if (!hasOption(p, ["--check", "--stat", "--numstat", "--summary"])) out.push({ path: "(files named in the patch)", kind: "unknown", access: "write", via });
  }
  return out;
}

/** openssl's single-dash options: `-in FILE` and friends read, `-out FILE` writes. */
export function opensslAccesses(v: View, _p: ParsedArgs, via: string): FileAccess[] {
  const out: FileAccess[] = [];
  v.argv.forEach((w, k) => {
    if (k + 1 >= v.argv.length) return;
    if (/^-(in|inkey|key|cert|CAfile|kfile|pass)$/.test(w)) {
      const val = v.argv[k + 1] as string;
      // -pass file:PATH reads PATH; other -pass forms are not files.
      if (w === "-pass") {
        if (val.startsWith("file:")) out.push(...acc({ text: val.slice(5), kind: v.kinds[k + 1] ?? "literal" }, "read", `${via} -pass`));
      } else out.push(...acc(word(v, k + 1), "read", `${via} ${w}`));
    } else if (w === "-out") out.push(...acc(word(v, k + 1), "write", `${via} -out`));
  });
  return out;
}
