// Reading the file audit log from its end: the newest records first, so that a page of the latest
// activity costs the bytes of that page, not of the whole log. Segments are taken newest first and
// each is read backwards in chunks. A last line without its newline (a write in progress) is left
// out, as `audit query` reports it; a line that does not parse is returned with its error.
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { listSegments } from "./query.js";
import { isSegmentName, parseRecordLine, type AuditRecord } from "./record.js";

const CHUNK = 64 * 1024;

/** Where a line starts: its segment and byte offset (a stable reference to one record). */
export interface LinePosition {
  segment: string;
  offset: number;
}

export type NewestFirstItem = LinePosition & ({ record: AuditRecord; error?: undefined } | { record?: undefined; error: string });

function openSegment(path: string): number {
  // Never through a symlink planted under a segment's name, never blocking on a FIFO.
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Error(`${path} is not a regular file`);
  }
  return fd;
}

/** The newline-terminated lines of a file that end before `before` (default: its end), last first. */
export function* linesBackward(path: string, before?: number): Generator<{ offset: number; bytes: Buffer }> {
  const fd = openSegment(path);
  try {
    const size = fstatSync(fd).size;
    let pos = Math.min(before ?? size, size);
    // The start of a line whose newline has been seen but whose beginning has not yet been read.
    let carry: Buffer | undefined;
    const chunk = Buffer.allocUnsafe(CHUNK);
    while (pos > 0) {
      const start = Math.max(0, pos - CHUNK);
      const n = readSync(fd, chunk, 0, pos - start, start);
      if (n !== pos - start) throw new Error(`${path} changed while it was read`);
      const buf = carry ? Buffer.concat([chunk.subarray(0, n), carry]) : Buffer.from(chunk.subarray(0, n));
      let end = buf.length;
      // Whether the bytes ending at `end` are a complete line (a newline follows them).
      let terminated = carry !== undefined;
      for (let i = end > 0 ? buf.lastIndexOf(10, end - 1) : -1; i >= 0; i = end > 0 ? buf.lastIndexOf(10, end - 1) : -1) {
        if (terminated) yield { offset: start + i + 1, bytes: buf.subarray(i + 1, end) };
        terminated = true;
        end = i;
      }
      carry = terminated ? buf.subarray(0, end) : undefined;
      pos = start;
    }
    if (carry) yield { offset: 0, bytes: carry };
  } finally {
    closeSync(fd);
  }
}

/** Every record, newest first, from before `from` (a line's position) or from the end of the log. */
/** The lines of the log, newest first, starting before `from` (default: the end), unparsed. */
export function* linesNewestFirst(dir: string, from?: LinePosition): Generator<LinePosition & { bytes: Buffer }> {
  const segments = listSegments(dir).reverse();
  let i = 0;
  if (from) {
    i = segments.indexOf(from.segment);
    if (i < 0) return;
  }
  for (; i < segments.length; i++) {
    const segment = segments[i]!;
    const before = from && segment === from.segment ? from.offset : undefined;
    for (const line of linesBackward(join(dir, segment), before)) yield { segment, offset: line.offset, bytes: line.bytes };
  }
}

export function* readNewestFirst(dir: string, from?: LinePosition): Generator<NewestFirstItem> {
  for (const line of linesNewestFirst(dir, from)) yield parseLineAt(line);
}

/** A line read by linesNewestFirst, parsed. */
export function parseLineAt(line: LinePosition & { bytes: Buffer }): NewestFirstItem {
  const parsed = parseRecordLine(line.bytes.toString("utf8"));
  return parsed.record ? { segment: line.segment, offset: line.offset, record: parsed.record } : { segment: line.segment, offset: line.offset, error: parsed.error };
}

/** The record whose line starts at `at`, or undefined (no such segment, not a line start, damaged). */
export function readRecordAt(dir: string, at: LinePosition, maxBytes = 64 << 20): AuditRecord | undefined {
  if (!isSegmentName(at.segment) || !Number.isSafeInteger(at.offset) || at.offset < 0) return undefined;
  let fd: number;
  try {
    fd = openSegment(join(dir, at.segment));
  } catch {
    return undefined;
  }
  try {
    if (at.offset > 0) {
      // Only a line start: the byte before it is a newline.
      const prev = Buffer.alloc(1);
      if (readSync(fd, prev, 0, 1, at.offset - 1) !== 1 || prev[0] !== 10) return undefined;
    }
    const parts: Buffer[] = [];
    const chunk = Buffer.allocUnsafe(CHUNK);
    let pos = at.offset;
    for (let total = 0; total < maxBytes; ) {
      const n = readSync(fd, chunk, 0, CHUNK, pos);
      if (n === 0) return undefined; // no newline: a write in progress
      const nl = chunk.subarray(0, n).indexOf(10);
      parts.push(Buffer.from(chunk.subarray(0, nl >= 0 ? nl : n)));
      if (nl >= 0) return parseRecordLine(Buffer.concat(parts).toString("utf8")).record;
      pos += n;
      total += n;
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}
