// Finished incident reports shared between `serve` replicas through Redis (state.redis), so that a
// report's link (the console redirects to it right after the run) works on whichever replica the
// load balancer picks. Each report is `<prefix>incident-report:<sha256(id) hex>` holding the JSON
// {at, report} for an hour (the key's expiry, also checked on read). The id is a random link, so it
// is never a key itself. What is read back is checked for shape (a report is the console's own JSON,
// rendered through its escaping helper either way); anything else is no report. Redis failing:
// put and get throw, and the console keeps the report in its own memory or answers 503.
import { createHash, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import * as z from "zod/v4";
import type { IncidentReportStore, Kept } from "../fronts/console/incidents.js";
import { KEEP_MS } from "../fronts/console/incidents.js";
import type { IncidentReport } from "../incident/report.js";

/** A report larger than this is not shared (the console keeps it in its own memory). */
const MAX_BYTES = 8 << 20;

const Stored = z.object({
  at: z.number().int().nonnegative(),
  report: z.looseObject({ server: z.string(), generatedAt: z.string(), range: z.looseObject({}), contain: z.looseObject({}) }),
});

export class RedisIncidentReports implements IncidentReportStore {
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(private readonly opts: { client: Pick<Redis, "get" | "set">; keyPrefix?: string; now?: () => number; keepMs?: number }) {
    this.prefix = opts.keyPrefix ?? "mcp-warden:";
    this.now = opts.now ?? Date.now;
  }

  private key(id: string): string {
    return `${this.prefix}incident-report:${createHash("sha256").update(id).digest("hex")}`;
  }

  async put(report: IncidentReport): Promise<string> {
    const id = randomBytes(16).toString("base64url");
    const text = JSON.stringify({ at: this.now(), report });
    if (Buffer.byteLength(text) > MAX_BYTES) throw new Error(`the report is larger than ${MAX_BYTES >> 20} MiB`);
    await this.opts.client.set(this.key(id), text, "PX", this.opts.keepMs ?? KEEP_MS);
    return id;
  }

  async get(id: string): Promise<(Kept & { until: number }) | undefined> {
    const text = await this.opts.client.get(this.key(id));
    if (text === null) return undefined;
    let parsed;
    try {
      parsed = Stored.safeParse(JSON.parse(text));
    } catch {
      return undefined;
    }
    if (!parsed.success) return undefined;
    const until = parsed.data.at + (this.opts.keepMs ?? KEEP_MS);
    if (until <= this.now()) return undefined;
    return { report: parsed.data.report as unknown as IncidentReport, at: parsed.data.at, until };
  }
}
