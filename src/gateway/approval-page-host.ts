// The local approval page of one gateway (and the API `mcp-warden approvals` uses), started at the
// first question: most sessions never ask, so its module is loaded only then.
import type { ApprovalPage } from "../adapters/approval-page.js";
import type { ApprovalBroker } from "../approvals/broker.js";

export class ApprovalPageHost {
  private page: Promise<ApprovalPage> | undefined;
  private closed = false;
  /** Where the page listens and its admin token, once started (published in the 0600 status file). */
  info: { url: string; token: string } | undefined;

  constructor(
    private readonly broker: ApprovalBroker,
    private readonly enabled: boolean,
    private readonly onStarted: () => void,
    private readonly log: (message: string) => void,
  ) {}

  /** The page, started on first use; undefined when it is off, closed or could not start. */
  async ensure(): Promise<ApprovalPage | undefined> {
    if (!this.enabled || this.closed) return undefined;
    this.page ??= import("../adapters/approval-page.js")
      .then((m) => m.startApprovalPage(this.broker))
      .then((page) => {
        this.info = { url: page.origin, token: page.adminToken };
        this.onStarted();
        return page;
      });
    try {
      return await this.page;
    } catch (e) {
      this.log(`cannot start the approval page: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** The one-time page URL for a question, or undefined when there is no page. */
  async urlFor(id: string): Promise<string | undefined> {
    return (await this.ensure())?.urlFor(id);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.page?.then((p) => p.close()).catch(() => undefined);
  }
}
