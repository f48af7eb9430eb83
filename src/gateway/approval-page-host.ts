// The local page server of one gateway: the console and the API `mcp-warden approvals` uses. Its module is loaded only when it starts: at the first question, or (startSoon) once
// the client's handshake is done, so `mcp-warden console` finds it; never on the way to a first
// answer.
import type { ApprovalPage, ApprovalPageOptions } from "../adapters/approval-page.js";
import type { ApprovalBroker } from "../approvals/broker.js";

export class ApprovalPageHost {
  private page: Promise<ApprovalPage> | undefined;
  private closed = false;
  private soon = false;
  /** Where the page listens and its admin token, once started (published in the 0600 status file). */
  info: { url: string; token: string } | undefined;

  constructor(
    private readonly broker: ApprovalBroker,
    private readonly enabled: boolean,
    private readonly onStarted: () => void,
    private readonly log: (message: string) => void,
    /** The console under /console; undefined (or a factory that fails) leaves the API alone. */
    private readonly console?: ApprovalPageOptions["console"],
  ) {}

  /** The page, started on first use; undefined when it is off, closed or could not start. */
  async ensure(): Promise<ApprovalPage | undefined> {
    if (!this.enabled || this.closed) return undefined;
    const console = this.console;
    this.page ??= import("../adapters/approval-page.js")
      .then((m) =>
        m.startApprovalPage(this.broker, {
          ...(console
            ? {
                console: async (page) => {
                  try {
                    return await console(page);
                  } catch (e) {
                    this.log(`the console cannot start (\`mcp-warden approvals\` still answers questions): ${(e as Error).message}`);
                    return undefined;
                  }
                },
              }
            : {}),
        }),
      )
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

  /** Starts the page in the background, after what is running now (once; a no-op when it is off). */
  startSoon(): void {
    if (this.soon || !this.enabled || this.closed) return;
    this.soon = true;
    setImmediate(() => void this.ensure());
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.page?.then((p) => p.close()).catch(() => undefined);
  }
}
