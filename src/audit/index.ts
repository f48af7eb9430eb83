// The audit log's public surface.
export {
  AUDIT_KINDS,
  AUDIT_OUTCOMES,
  GENESIS_PREV,
  SEGMENT_START_EVENT,
  buildRecord,
  hashLine,
  isAuditKind,
  isSegmentName,
  parseRecordLine,
  segmentFileName,
  type AuditEntry,
  type AuditKind,
  type AuditOutcome,
  type AuditRecord,
  type SegmentStartDetail,
} from "./record.js";
export { AuditLog, type AuditLogOptions } from "./log.js";
export { MIN_SECRET_LENGTH, REDACTED, compileRedactor, redactValue, type Redactor } from "./redact.js";
export {
  AuditFormatError,
  listSegments,
  matchRecord,
  parseTimeArg,
  readAuditLines,
  readRecords,
  type AuditFilter,
  type AuditReadItem,
} from "./query.js";
export { verifyAudit, type BrokenRecord, type VerifyResult } from "./verify.js";
