// Bodies of identity-provider answers (discovery, keys, token exchange) read with a bound: a hostile
// or broken endpoint must not exhaust the gateway's memory.

/** The body's bytes, at most `max`; past it the stream is cancelled and an error names `what`. */
export async function readBoundedBytes(res: Response, max: number, what = "the answer"): Promise<Buffer> {
  const reader = res.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`${what} is longer than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The body as text, at most `max` bytes. */
export async function readBounded(res: Response, max: number): Promise<string> {
  return (await readBoundedBytes(res, max)).toString("utf8");
}
