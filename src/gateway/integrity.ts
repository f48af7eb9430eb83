// Which of an upstream's items the client may see, and whether a server may start at all.
//   - Launch approval (before anything runs, src/gateway/launch-approval.ts): a server whose launch
//     identity is not approved under its name and layer (a new server from the project or local
//     layer, a changed launch configuration) is not spawned and not connected to until a person
//     approves it; the question waits on the approval page and in `mcp-warden approvals`.
//   - Each tool (policy/integrity/definitions.ts): hidden when poisoned or denied; hidden with a
//     question showing the difference when it changed since it was pinned; pinned on first sight
//     otherwise. A reconnect that serves the same definitions changes nothing.
// Until a server's first review ends, none of its tools is exposed (fail closed); a pin store that
// cannot be read hides the server's tools rather than trusting them.
import type { PinStore, ServerPins } from "../adapters/pin-store.js";
import type { AuditLog } from "../audit/index.js";
import type { ApprovalBroker } from "../approvals/broker.js";
import { canonicalToolName, type CompiledPolicy } from "../policy/index.js";
import { judgeToolDefinition } from "../policy/integrity/definitions.js";
import { canonicalToolDefinition, type PinnedTool, toolDigest } from "../policy/integrity/pins.js";
import type { Upstream } from "../upstream/upstream.js";
import { launchIdentity, launchStatus, REPOSITORY_LAYERS } from "./launch-approval.js";

export interface IntegrityOptions {
  /** Approved servers and tool pins. Launch approvals of project and local servers use it even with pins off. */
  store: PinStore;
  /** Pin tools and hold changed launch configurations of the user's own servers (settings `integrity.pins`). */
  pins: boolean;
  /** Scan definitions for poisoning (settings `integrity.scanDefinitions`). */
  scan: boolean;
  broker: ApprovalBroker;
  audit: AuditLog;
  policy: CompiledPolicy;
  policyVersion: string;
  /** All upstreams, for shadowing checks (names of other servers' tools). */
  upstreams: () => Iterable<Upstream>;
  /** Tells the person a question waits (stderr, client log). */
  announce: (text: string, questionId: string) => void;
  /** The exposed tools of a server changed: the client is told to list again. */
  onChange: (server: string) => void;
  /** A person approved a server's launch: start it and tell the client. */
  onLaunchApproved: (upstream: Upstream) => void;
  /** How long a question about a changed tool or server stays open. */
  questionTimeoutMs: number;
}

interface ServerState {
  reviewed: boolean;
  /** Tool name → why it is hidden. */
  hidden: Map<string, string>;
  /** Why the whole server is hidden (identity not approved, store unreadable). */
  blocked?: string;
  /**
   * The very tool objects the last review let through. A list the upstream fetched since (after a
   * list_changed or a restart) holds new objects, which stay hidden until their own review ends, so
   * no definition reaches the client unreviewed, even between a refresh and its review.
   */
  reviewedTools: WeakSet<object>;
  running?: Promise<void>;
  again?: boolean;
}

export class IntegrityGate {
  private readonly servers = new Map<string, ServerState>();
  /** Open questions by what they are about, so a repeated review does not ask twice. */
  private readonly asking = new Map<string, string>();
  /** Launch questions a person denied: not asked again while this gateway runs. */
  private readonly declined = new Set<string>();

  constructor(private readonly opts: IntegrityOptions) {}

  /** Why a tool is not exposed, or undefined when it is. `item`: the tool object as listed now. */
  hiddenReason(server: string, tool: string, item?: object): string | undefined {
    const s = this.servers.get(server);
    if (!s?.reviewed) return `the tools of server '${server}' have not been reviewed yet`;
    if (s.blocked) return s.blocked;
    const hidden = s.hidden.get(tool);
    if (hidden !== undefined) return hidden;
    if (item !== undefined && !s.reviewedTools.has(item)) return `the definition of ${tool} has not been reviewed yet`;
    return undefined;
  }

  /** Whether a review is under way (the request path skips waiting when none is). */
  get busy(): boolean {
    for (const s of this.servers.values()) if (s.running) return true;
    return false;
  }

  /** Waits (bounded by the caller) for reviews under way. */
  async settled(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.running?.catch(() => undefined)));
  }

  /**
   * Whether `upstream` may start now (Upstream's approveLaunch): undefined, or why it waits. Opens
   * (once) the question a person answers; approving it records the identity and starts the server.
   */
  async approveLaunch(upstream: Upstream): Promise<string | undefined> {
    const store = this.opts.store;
    const server = upstream.server;
    const status = await launchStatus(store, server);
    if (status.status === "approved") return undefined;
    if (status.status === "first-use") {
      if (this.opts.pins) await store.approveServer(status.identity, server.name, "first use");
      return undefined;
    }
    // With pins off, only the repository's own servers wait: the user chose not to hold changes of theirs.
    if (!this.opts.pins && !REPOSITORY_LAYERS.has(server.source.layer)) return undefined;
    const key = `server:${server.name}:${status.identity.digest}`;
    if (this.declined.has(key)) return `${status.why}. A person declined it; it stays stopped until the gateway restarts`;
    const id = this.askAbout(
      key,
      { kind: "server", server: server.name, serverIdentity: status.identity.digest, reason: status.why, diff: status.diff },
      async () => {
        await store.approveServer(status.identity, server.name, "approval");
        this.opts.onLaunchApproved(upstream);
      },
    );
    return `${status.why}. Run \`mcp-warden approvals list\` to see its launch configuration and \`mcp-warden approvals approve ${id}\` to let it start`;
  }

  /** Reviews an upstream's current tool list; runs again if asked while running. */
  review(upstream: Upstream): Promise<void> {
    let s = this.servers.get(upstream.name);
    if (!s) this.servers.set(upstream.name, (s = { reviewed: false, hidden: new Map(), reviewedTools: new WeakSet() }));
    const state = s;
    if (state.running) {
      state.again = true;
      return state.running;
    }
    state.running = (async () => {
      do {
        state.again = false;
        await this.reviewOnce(upstream, state).catch((e: Error) => {
          // Fail closed: nothing of this server is exposed when its review fails.
          state.blocked = `the integrity review of server '${upstream.name}' failed: ${e.message}`;
          state.reviewed = true;
        });
      } while (state.again);
    })().finally(() => {
      state.running = undefined;
    });
    return state.running;
  }

  private async reviewOnce(upstream: Upstream, state: ServerState): Promise<void> {
    const before = JSON.stringify([state.blocked, [...state.hidden]]);
    const wasReviewed = state.reviewed;
    const name = upstream.name;
    const identity = launchIdentity(upstream.server);
    const store = this.opts.pins ? this.opts.store : undefined;
    let record: ServerPins | undefined;
    if (store) {
      record = await store.getServer(identity.digest);
      // Started only after approveLaunch recorded it; gone now means it was reset while running.
      if (!record) {
        state.blocked = `server '${name}' is not approved (its approval was removed while it ran); restart the gateway to be asked again`;
        state.hidden.clear();
        state.reviewed = true;
        this.notifyIfChanged(name, state, before, wasReviewed);
        return;
      }
    }
    state.blocked = undefined;
    const others = [...this.opts.upstreams()].flatMap((u) => u.lists.tools.map((t) => ({ server: u.name, name: t.name })));
    const hidden = new Map<string, string>();
    const newPins: PinnedTool[] = [];
    const reviewed = new WeakSet<object>();
    const tools = upstream.lists.tools;
    for (const tool of tools) {
      const definition = tool as unknown as Record<string, unknown>;
      const pinned = record?.tools[tool.name];
      const policy = this.opts.policy.decideTool({ tool: canonicalToolName(name, tool.name), input: {} });
      // Denied tools are hidden by the listing anyway; the review is about what would be exposed.
      if (policy.decision === "deny") continue;
      // A definition that matches its pin passed the scan when it was pinned (only clean definitions
      // are pinned), so it is not scanned again at every start: the scanner's first use in a process
      // costs far more than a review. New and changed definitions are always scanned.
      const unchanged = pinned !== undefined && toolDigest(canonicalToolDefinition(definition)) === pinned.digest;
      const v = judgeToolDefinition(definition, pinned, { server: name, otherTools: others, scan: this.opts.scan && !unchanged });
      if (v.decision === "deny") {
        hidden.set(tool.name, v.reason);
        this.audited(name, tool.name, "hidden", v.reason);
      } else if (v.decision === "ask") {
        hidden.set(tool.name, `${tool.name} changed since it was approved; it is hidden until a person approves the new definition`);
        const digest = toolDigest(canonicalToolDefinition(definition));
        this.askAbout(`tool:${name}:${tool.name}:${digest}`, { kind: "tool-change", server: name, serverIdentity: identity.digest, tool: canonicalToolName(name, tool.name), reason: v.reason.split("\n")[0] ?? v.reason, diff: v.reason.split("\n").slice(1).join("\n") }, async () => {
          if (store) await store.pinTools(identity.digest, [{ name: tool.name, digest, definition: canonicalToolDefinition(definition), approvedAt: new Date().toISOString(), approvedBy: "approval" }]);
          this.review(upstream).catch(() => undefined);
        });
      } else {
        reviewed.add(tool);
        if (store && !pinned) {
          const canonical = canonicalToolDefinition(definition);
          newPins.push({ name: tool.name, digest: toolDigest(canonical), definition: canonical, approvedAt: new Date().toISOString(), approvedBy: "first use" });
        }
      }
    }
    if (store && newPins.length) await store.pinTools(identity.digest, newPins);
    // The list changed while this review ran: review again rather than vouch for objects not seen.
    if (upstream.lists.tools !== tools) state.again = true;
    state.hidden = hidden;
    state.reviewedTools = reviewed;
    state.reviewed = true;
    this.notifyIfChanged(name, state, before, wasReviewed);
  }

  private notifyIfChanged(server: string, state: ServerState, before: string, wasReviewed: boolean) {
    if (wasReviewed && JSON.stringify([state.blocked, [...state.hidden]]) !== before) this.opts.onChange(server);
  }

  private audited(server: string, tool: string, event: string, reason: string) {
    this.opts.audit.append({ kind: "integrity", event: `tool-${event}`, server, tool: canonicalToolName(server, tool), reason });
  }

  /** Opens a question (once per subject) whose approval runs `onAllow`; returns its id. */
  private askAbout(key: string, q: { kind: "server" | "tool-change"; server: string; serverIdentity: string; tool?: string; reason: string; diff: string }, onAllow: () => Promise<void>): string {
    const open = this.asking.get(key);
    if (open !== undefined) return open;
    const { id, result } = this.opts.broker.open({ ...q, policyVersion: this.opts.policyVersion, answers: ["allow-once", "deny"] }, undefined, this.opts.questionTimeoutMs);
    this.asking.set(key, id);
    this.opts.audit.append({ kind: "approval", event: "asked", server: q.server, tool: q.tool, reason: q.reason, detail: { approval: id, subject: q.kind } });
    this.opts.announce(`${q.reason} (question ${id}): run \`mcp-warden approvals list\` to see the difference, \`mcp-warden approvals approve ${id}\` to approve`, id);
    void result.then(async (r) => {
      this.asking.delete(key);
      this.opts.audit.append({ kind: "approval", event: "answered", server: q.server, tool: q.tool, decision: r.answer === "deny" ? "deny" : "allow", detail: { approval: id, answer: r.answer, by: r.by, subject: q.kind } });
      if (r.answer === "deny" && r.by !== "timeout" && r.by !== "cancelled" && q.kind === "server") this.declined.add(key);
      if (r.answer !== "deny") await onAllow().catch((e: Error) => this.opts.announce(`approving ${q.kind} of '${q.server}' failed: ${e.message}`, id));
    });
    return id;
  }
}
