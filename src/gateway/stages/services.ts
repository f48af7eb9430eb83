// What the stages share: the compiled policy, the catalog, the audit log. Small on purpose.
import type { AuditSink } from "../../audit/index.js";
import type { CompiledPolicy } from "../../policy/index.js";
import type { Principal } from "../../policy/principal.js";
import type { Catalog } from "../catalog.js";
import type { ItemKind } from "../integrity.js";

export interface StageServices {
  /** The rules of the settings layers. */
  policy: CompiledPolicy;
  /** The rules for one caller: the layers' plus its matching `principals` entries' (default: `policy`). */
  policyFor?: (p: Principal) => CompiledPolicy;
  catalog: Catalog;
  audit: AuditSink;
  /** Which items may be exposed (hidden ones are refused). */
  integrity?: { hiddenReason(upstream: { name: string; instanceKey: string }, name: string, item?: object, kind?: ItemKind): string | undefined };
}
