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
export type { AuditSink } from "./sink.js";
export { PostgresAuditSink, PostgresAuditError, type PostgresSinkOptions } from "./postgres.js";
export { AuditLog, appendShared, type AuditLogOptions, type SharedAppendOptions } from "./log.js";
export {
  AuditKeyError,
  CHECKPOINT_FILE,
  CheckpointError,
  MIN_KEY_BYTES,
  readAuditKey,
  readCheckpoint,
  readSealed,
  type AuditKey,
  type Checkpoint,
  type CheckpointRead,
  type Head,
  type ReplacedNote,
  type SealedRef,
} from "./checkpoint.js";
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
export { verifyAudit, type BrokenRecord, type VerifyOptions, type VerifyResult, type VerifyStatus } from "./verify.js";
export type { CheckpointSummary, TailProblem } from "./tail.js";
