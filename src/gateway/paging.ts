// Pagination of the merged lists the client sees. A cursor carries the list, an offset and the list
// generation it belongs to: after any list changes, an old cursor is refused rather than skipping or
// repeating items.
import { ErrorCodes, GatewayError } from "./errors.js";

interface Cursor {
  k: string;
  o: number;
  g: number;
}

/** One page of `items`; throws an invalidParams GatewayError for a forged, foreign or stale cursor. */
export function pageOf<K extends string, T>(key: K, items: T[], cursor: string | undefined, opts: { size: number; generation: number }): { [P in K]: T[] } & { nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const decoded = decodeCursor(cursor);
    if (!decoded || decoded.g !== opts.generation || decoded.k !== key) throw new GatewayError(ErrorCodes.invalidParams, "Invalid or stale cursor; list again from the start");
    offset = decoded.o;
  }
  const slice = items.slice(offset, offset + opts.size);
  const next = offset + opts.size < items.length ? encodeCursor({ k: key, o: offset + opts.size, g: opts.generation }) : undefined;
  return { [key]: slice, ...(next ? { nextCursor: next } : {}) } as never;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(s: string): Cursor | undefined {
  try {
    const c = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as { k: unknown; o: unknown; g: unknown };
    if (typeof c.k === "string" && Number.isInteger(c.o) && (c.o as number) >= 0 && Number.isInteger(c.g)) return c as Cursor;
  } catch {
    /* fall through */
  }
  return undefined;
}
