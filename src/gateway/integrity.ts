// Which of an upstream's items the client may see, and whether a server may start at all.
//   - Launch approval (before anything runs, src/gateway/launch-approval.ts): a server whose launch
//     identity is not approved under its name and layer (a new server from the project or local
//     layer, a changed launch configuration) is not spawned and not connected to until a person
//     approves it; the question waits in the local console and in `mcp-warden approvals`.
//   - Each tool, prompt and resource template (policy/integrity/definitions.ts), every field of it:
//     hidden when poisoned or denied; hidden with a question showing the difference when it changed
//     since it was pinned; pinned on first sight otherwise. A reconnect that serves the same
//     definitions changes nothing. Resources (often dynamic lists) are scanned, not pinned.
// Until a server's first review ends, none of its tools is exposed (fail closed); a pin store that
// cannot be read hides the server's tools rather than trusting them.
import type { PinStore, ServerPins } from "../adapters/pin-store.js";
import type { AuditSink } from "../audit/index.js";
import type { ApprovalBroker } from "../approvals/broker.js";
import { canonicalToolName, type CompiledPolicy } from "../policy/index.js";
import { type DefinitionVerdict, judgePromptDefinition, judgeResource, judgeResourceTemplate, judgeToolDefinition } from "../policy/integrity/definitions.js";
import { makePin, type PinKind, type PinnedTool } from "../policy/integrity/pins.js";
import { warmUpScanner } from "../policy/integrity/poisoning.js";
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
  audit: AuditSink;
  policy: CompiledPolicy;
  /** Digest of the rules in force now. */
  policyVersion(): string;
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

/** What the client sees of a server, by list. */
export type ItemKind = PinKind | "resources";

interface ServerState {
  reviewed: boolean;
  /** `<kind>:<name or uri>` → why it is hidden. */
  hidden: Map<string, string>;
  /** Why the whole server is hidden (not approved, store unreadable). */
  blocked?: string;
  /**
   * The very item objects the last review let through. A list the upstream fetched since (after a
   * list_changed or a restart) holds new objects, which stay hidden until their own review ends, so
   * no definition reaches the client unreviewed, even between a refresh and its review.
   */
  reviewedItems: WeakSet<object>;
  running?: Promise<void>;
  again?: boolean;
}

const NOUN: Record<ItemKind, string> = { tools: "tool", prompts: "prompt", resourceTemplates: "resource template", resources: "resource" };
const hiddenKey = (kind: ItemKind, name: string) => `${kind}:${name}`;

export class IntegrityGate {
  private readonly servers = new Map<string, ServerState>();
  /** Open questions by what they are about, so a repeated review does not ask twice. */
  private readonly asking = new Map<string, string>();
  /** Launch questions a person denied: not asked again while this gateway runs. */
  private readonly declined = new Set<string>();

  private warmedUp = false;

  constructor(private readonly opts: IntegrityOptions) {}

  /** Compiles the poisoning scanner's patterns (once, when scanning is on): call it while waiting for a server to start. */
  warmUp(): void {
    if (this.warmedUp || !this.opts.scan) return;
    this.warmedUp = true;
    warmUpScanner();
  }

  /**
   * Why an item is not exposed, or undefined when it is. `name`: a tool's, prompt's or template's
   * name, a resource's URI; `item`: the object as listed now.
   */
  hiddenReason(upstream: { name: string; instanceKey: string }, name: string, item?: object, kind: ItemKind = "tools"): string | undefined {
    const server = upstream.name;
    // Each instance of a server (remote mode: one per principal) is reviewed on its own lists.
    const s = this.servers.get(upstream.instanceKey);
    if (!s?.reviewed) return `the ${NOUN[kind]}s of server '${server}' have not been reviewed yet`;
    if (s.blocked) return s.blocked;
    const hidden = s.hidden.get(hiddenKey(kind, name));
    if (hidden !== undefined) return hidden;
    if (item !== undefined && !s.reviewedItems.has(item)) return `the definition of ${NOUN[kind]} ${name} has not been reviewed yet`;
    return undefined;
  }

  /** An instance that was stopped for good (remote mode reaps idle ones): its review state goes too. */
  forget(upstream: { instanceKey: string }): void {
    if (upstream.instanceKey.includes("#")) this.servers.delete(upstream.instanceKey);
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
    // The model reads this (a call to the server fails with it): commands only, never a page link.
    return `${status.why}. Run \`mcp-warden approvals list\` to see its launch configuration and \`mcp-warden approvals approve ${id}\` to let it start`;
  }

  /** Reviews an upstream's current lists; runs again if asked while running. */
  /** A settings reload's layer rules: later reviews skip the tools they deny and review those they allow. */
  setPolicy(policy: CompiledPolicy): void {
    this.opts.policy = policy;
  }

  review(upstream: Upstream): Promise<void> {
    let s = this.servers.get(upstream.instanceKey);
    if (!s) this.servers.set(upstream.instanceKey, (s = { reviewed: false, hidden: new Map(), reviewedItems: new WeakSet() }));
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
    const reviewed = new WeakSet<object>();
    const lists = upstream.lists;
    const judges: Record<PinKind, typeof judgeToolDefinition> = { tools: judgeToolDefinition, prompts: judgePromptDefinition, resourceTemplates: judgeResourceTemplate };
    for (const kind of ["tools", "prompts", "resourceTemplates"] as const) {
      const newPins: PinnedTool[] = [];
      const items = lists[kind] as unknown as Record<string, unknown>[];
      // Two items under one name: which one a request reaches is unknown, so neither is exposed.
      const counts = new Map<string, number>();
      for (const item of items) if (typeof item.name === "string") counts.set(item.name, (counts.get(item.name) ?? 0) + 1);
      for (const item of items) {
        const itemName = String(item.name);
        if ((counts.get(itemName) ?? 0) > 1) {
          hidden.set(hiddenKey(kind, itemName), `server '${name}' lists more than one ${NOUN[kind]} named ${JSON.stringify(itemName)}; none of them is exposed`);
          continue;
        }
        // Denied tools are hidden by the listing anyway; the review is about what would be exposed.
        if (kind === "tools" && this.opts.policy.decideTool({ tool: canonicalToolName(name, itemName), input: {} }).decision === "deny") continue;
        const pinned = record?.[kind]?.[itemName];
        // A definition matching its (version 2) pin was scanned when pinned: not again at every start,
        // the scanner's first use in a process costs far more than a review.
        const v = judges[kind](item, pinned, { server: name, otherTools: others, scan: this.opts.scan, trustPinned: true });
        if (v.decision === "deny") {
          hidden.set(hiddenKey(kind, itemName), v.reason);
          this.audited(name, kind, itemName, "hidden", v.reason);
        } else if (v.decision === "ask") {
          hidden.set(hiddenKey(kind, itemName), `${NOUN[kind]} ${itemName} changed since it was approved; it is hidden until a person approves the new definition`);
          this.askAboutChange(upstream, identity.digest, kind, item, v);
        } else {
          reviewed.add(item);
          if (store && v.repin) newPins.push(makePin(kind, item, { approvedBy: pinned ? "first use (every field)" : "first use" }));
        }
      }
      if (store && newPins.length) await store.pinItems(identity.digest, kind, newPins);
    }
    for (const resource of lists.resources as unknown as Record<string, unknown>[]) {
      const v = this.resourceVerdict(name, resource);
      if (v.decision === "deny") {
        hidden.set(hiddenKey("resources", String(resource.uri)), v.reason);
        this.audited(name, "resources", String(resource.uri), "hidden", v.reason);
      } else reviewed.add(resource);
    }
    // A list changed while this review ran: review again rather than vouch for objects not seen.
    if (upstream.lists !== lists) state.again = true;
    state.hidden = hidden;
    state.reviewedItems = reviewed;
    state.reviewed = true;
    this.notifyIfChanged(name, state, before, wasReviewed);
  }

  /** Resources are scanned, not pinned; a resource listed again with the same text is not rescanned. */
  private readonly resourceCache = new Map<string, DefinitionVerdict>();
  private resourceVerdict(server: string, resource: Record<string, unknown>): DefinitionVerdict {
    const key = `${server}\0${JSON.stringify(resource)}`;
    let v = this.resourceCache.get(key);
    if (!v) {
      v = judgeResource(resource, { server, scan: this.opts.scan });
      // Bounded: a server listing ever-new resources must not grow the gateway without end.
      if (this.resourceCache.size >= 10_000) this.resourceCache.clear();
      this.resourceCache.set(key, v);
    }
    return v;
  }

  /** A changed definition waits for a person; approving it pins the new definition and reviews again. */
  private askAboutChange(upstream: Upstream, identityDigest: string, kind: PinKind, item: Record<string, unknown>, v: DefinitionVerdict) {
    const name = upstream.name;
    const itemName = String(item.name);
    const store = this.opts.pins ? this.opts.store : undefined;
    const reason = v.reason.split("\n")[0] ?? v.reason;
    this.askAbout(
      `${kind}:${name}:${itemName}:${v.digest ?? ""}`,
      { kind: "tool-change", server: name, serverIdentity: identityDigest, tool: canonicalToolName(name, itemName), reason: kind === "tools" ? reason : `${NOUN[kind]} ${reason}`, diff: v.reason.split("\n").slice(1).join("\n") },
      async () => {
        if (store) await store.pinItems(identityDigest, kind, [makePin(kind, item, { approvedBy: "approval" })]);
        this.review(upstream).catch(() => undefined);
      },
    );
  }

  private notifyIfChanged(server: string, state: ServerState, before: string, wasReviewed: boolean) {
    if (wasReviewed && JSON.stringify([state.blocked, [...state.hidden]]) !== before) this.opts.onChange(server);
  }

  private audited(server: string, kind: ItemKind, name: string, event: string, reason: string) {
    const what = kind === "tools" ? "tool" : kind === "prompts" ? "prompt" : kind === "resources" ? "resource" : "resource-template";
    this.opts.audit.append({ kind: "integrity", event: `${what}-${event}`, server, tool: kind === "resources" ? undefined : canonicalToolName(server, name), reason, ...(kind === "resources" ? { detail: { uri: name } } : {}) });
  }

  /** Opens a question (once per subject) whose approval runs `onAllow`; returns its id. */
  private askAbout(key: string, q: { kind: "server" | "tool-change"; server: string; serverIdentity: string; tool?: string; reason: string; diff: string }, onAllow: () => Promise<void>): string {
    const open = this.asking.get(key);
    if (open !== undefined) return open;
    const { id, result } = this.opts.broker.open({ ...q, policyVersion: this.opts.policyVersion(), answers: ["allow-once", "deny"] }, undefined, this.opts.questionTimeoutMs);
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
