// The held-call questions and their answers on disk, so a question outlives the call (and the
// gateway) that asked it: `mcp-warden approvals approve ID` answers it with no gateway running, and
// the next gateway (or the same one) honours the approval when the identical call is retried.
//
// Layout: `<stateDir>/held-calls/` (0700, ours, not a link):
//   <id>.json          the question (HeldCall), written once, atomically (temp file + rename);
//   <id>.answer.json   the answer, written once: linked into place from a complete temp file, so the
//                      first answer wins (link(2) fails when the name exists) and no reader ever sees
//                      half of one.
// A grant is used by renaming its question file to a private name: rename(2) succeeds for exactly one
// claimant, so a grant lets one call through even with several gateways retrying at once. Expired
// entries are claimed the same way, then removed.
//
// Trust: the state directory is the user's and protected from the agent (its writes there are asked
// about, src/policy/paths/protected.ts), so a file here is as trusted as pins.json. It is still read
// strictly: a symlink, a file not ours, an oversized or malformed record is never a grant.
import { closeSync, constants, fstatSync, linkSync, lstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeSync, fsyncSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type CallBinding, type HeldCall, type HeldCallAnswer, type HeldCallState, heldCallState, parseHeldCall, parseHeldCallAnswer, sameBinding } from "../approvals/retry-grants.js";
import { stateDir } from "../settings/paths.js";
import { ensurePrivateDir, UnsafeFileError, writeFileAtomic } from "./safe-files.js";

/** A question file larger than this is not read (arguments over ARGUMENTS_MAX are not stored). */
const MAX_FILE_BYTES = 1024 * 1024;
/** Arguments whose JSON is larger than this are not stored; the digest still binds the grant to them. */
export const ARGUMENTS_MAX_BYTES = 256 * 1024;
/** Temp and claimed files older than this are leftovers of a crash. */
const LEFTOVER_MS = 3600_000;
const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const uid = typeof process.getuid === "function" ? process.getuid() : undefined;

export interface StoredHeldCall {
  question: HeldCall;
  answer?: HeldCallAnswer;
  status: HeldCallState;
}

export function heldCallsDir(env: NodeJS.ProcessEnv): string {
  return join(stateDir(env), "held-calls");
}

export class HeldCallStore {
  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
  ) {}

  static forEnv(env: NodeJS.ProcessEnv): HeldCallStore {
    return new HeldCallStore(heldCallsDir(env));
  }

  /** Persists a question (arguments left out when too large). Throws when the directory is unsafe. */
  save(q: HeldCall): void {
    assertId(q.id);
    ensurePrivateDir(this.dir);
    const record = q.arguments !== undefined && JSON.stringify(q.arguments).length > ARGUMENTS_MAX_BYTES ? { ...q, arguments: undefined } : q;
    writeFileAtomic(this.questionPath(q.id), JSON.stringify(record) + "\n", 0o600);
  }

  /**
   * Every readable question with its answer and state. Unreadable or malformed entries are reported
   * through `problems` and left out (never a grant). A missing directory is an empty store.
   */
  list(problems: string[] = []): StoredHeldCall[] {
    let names: string[];
    try {
      names = this.names();
    } catch (e) {
      problems.push((e as Error).message);
      return [];
    }
    const now = this.now();
    const out: StoredHeldCall[] = [];
    for (const name of names) {
      const m = /^([A-Za-z0-9_-]{1,64})\.json$/.exec(name);
      if (!m) continue;
      const entry = this.entry(m[1]!, problems, now);
      if (entry) out.push(entry);
    }
    return out.sort((a, b) => a.question.createdAt - b.question.createdAt);
  }

  /** One question, or undefined when there is none (or it cannot be read: reported in `problems`). */
  get(id: string, problems: string[] = []): StoredHeldCall | undefined {
    if (!ID_RE.test(id)) return undefined;
    return this.entry(id, problems, this.now());
  }

  /**
   * Records a person's answer. Refused when the question is gone, expired or already answered: the
   * first answer wins, here and against a concurrent `approvals approve`.
   */
  answer(id: string, answer: Omit<HeldCallAnswer, "version" | "id" | "at">): { ok: true; entry: StoredHeldCall } | { ok: false; reason: string } {
    const problems: string[] = [];
    const entry = this.get(id, problems);
    if (!entry) return { ok: false, reason: problems[0] ?? `no held call ${JSON.stringify(id)} (already used, expired or never asked)` };
    if (entry.status.state !== "pending") return { ok: false, reason: `held call ${id} is ${entry.status.state === "expired" ? "expired" : "already answered"}` };
    if (!entry.question.answers.includes(answer.answer)) return { ok: false, reason: `${answer.answer} is not an answer to ${id} (it accepts ${entry.question.answers.join(", ")})` };
    const record: HeldCallAnswer = { version: 1, id, answer: answer.answer, by: answer.by, at: this.now() };
    const tmp = join(this.dir, `.${randomBytes(8).toString("hex")}.tmp`);
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      const buf = Buffer.from(JSON.stringify(record) + "\n", "utf8");
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(tmp, this.answerPath(id));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") return { ok: false, reason: `held call ${id} was answered meanwhile` };
      throw e;
    } finally {
      unlinkQuiet(tmp);
    }
    return { ok: true, entry: { ...entry, answer: record, status: heldCallState(entry.question, record, this.now()) } };
  }

  /**
   * Uses a grant for this exact call: the first granted, unexpired question bound to `binding`,
   * claimed atomically and removed. Undefined when there is none.
   */
  consume(binding: CallBinding, problems: string[] = []): StoredHeldCall | undefined {
    for (const entry of this.list(problems)) {
      if (entry.status.state !== "granted" || !sameBinding(entry.question.binding, binding)) continue;
      if (this.claim(entry.question.id)) return entry;
    }
    return undefined;
  }

  /** Removes a question (its call got its answer in place, or it was withdrawn). */
  remove(id: string): void {
    if (ID_RE.test(id)) this.claim(id);
  }

  /**
   * Removes what can no longer be used: questions nobody answered in time, grants not used within
   * their window, denied questions past their time, and crash leftovers. Returns the entries removed
   * by this call (each exactly once across processes), for the audit log.
   */
  prune(problems: string[] = []): StoredHeldCall[] {
    const removed: StoredHeldCall[] = [];
    const now = this.now();
    for (const entry of this.list(problems)) {
      const s = entry.status;
      const done = s.state === "expired" || (s.state === "denied" && now >= entry.question.expiresAt);
      if (done && this.claim(entry.question.id)) removed.push(entry);
    }
    let names: string[] = [];
    try {
      names = this.names();
    } catch {
      return removed;
    }
    for (const name of names) {
      const answerOf = /^([A-Za-z0-9_-]{1,64})\.answer\.json$/.exec(name);
      // An answer whose question is gone (used, or removed while the answer was written).
      if (answerOf && !names.includes(`${answerOf[1]}.json`)) unlinkQuiet(join(this.dir, name));
      else if (name.startsWith(".") && this.olderThan(join(this.dir, name), LEFTOVER_MS, now)) unlinkQuiet(join(this.dir, name));
    }
    return removed;
  }

  private entry(id: string, problems: string[], now: number): StoredHeldCall | undefined {
    let question: HeldCall | string | undefined;
    let answer: HeldCallAnswer | string | undefined;
    try {
      const q = readJsonNoFollow(this.questionPath(id));
      if (q === undefined) return undefined;
      question = parseHeldCall(q, id);
      const a = readJsonNoFollow(this.answerPath(id));
      answer = a === undefined ? undefined : parseHeldCallAnswer(a, id);
    } catch (e) {
      problems.push(`held call ${id}: ${(e as Error).message}`);
      return undefined;
    }
    if (typeof question === "string") {
      problems.push(`held call ${id} (${this.questionPath(id)}): ${question}`);
      return undefined;
    }
    if (typeof answer === "string") {
      // A malformed answer is no approval; the question is shown as refused rather than as open.
      problems.push(`answer to held call ${id} (${this.answerPath(id)}): ${answer}`);
      return { question, status: { state: "denied", why: "its answer file is malformed" } };
    }
    return { question, ...(answer ? { answer } : {}), status: heldCallState(question, answer, now) };
  }

  /** Takes a question file out of use; true for exactly one caller. */
  private claim(id: string): boolean {
    const claimed = join(this.dir, `.${id}.${randomBytes(6).toString("hex")}.claimed`);
    try {
      renameSync(this.questionPath(id), claimed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    unlinkQuiet(claimed);
    unlinkQuiet(this.answerPath(id));
    return true;
  }

  /** The directory's entries; none when it does not exist. Throws when it is not a private directory of ours. */
  private names(): string[] {
    let st;
    try {
      st = lstatSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
    if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafeFileError(`${this.dir} is not a directory (a link or a file); held calls are not read from it (remove it)`);
    if (uid !== undefined && st.uid !== uid) throw new UnsafeFileError(`${this.dir} belongs to uid ${st.uid}, not to this user; held calls are not read from it (remove it)`);
    return readdirSync(this.dir);
  }

  private olderThan(file: string, ms: number, now: number): boolean {
    try {
      return now - lstatSync(file).mtimeMs > ms;
    } catch {
      return false;
    }
  }

  private questionPath(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private answerPath(id: string): string {
    return join(this.dir, `${id}.answer.json`);
  }
}

function assertId(id: string): void {
  if (!ID_RE.test(id)) throw new Error(`not a question id: ${JSON.stringify(id)}`);
}

function unlinkQuiet(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Gone already, or not ours to remove: nothing depends on it.
  }
}

/** A small JSON file of ours, never through a symlink; undefined when it does not exist. */
function readJsonNoFollow(file: string): unknown {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ELOOP") throw new UnsafeFileError(`${file} is a symbolic link; it is not read (remove it)`);
    throw e;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UnsafeFileError(`${file} is not a regular file; it is not read (remove it)`);
    if (uid !== undefined && st.uid !== uid) throw new UnsafeFileError(`${file} belongs to uid ${st.uid}, not to this user; it is not read (remove it)`);
    if (st.size > MAX_FILE_BYTES) throw new UnsafeFileError(`${file} is larger than ${MAX_FILE_BYTES} bytes; it is not read (remove it)`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    try {
      return JSON.parse(buf.subarray(0, off).toString("utf8"));
    } catch {
      throw new Error(`${file} is not JSON`);
    }
  } finally {
    closeSync(fd);
  }
}
