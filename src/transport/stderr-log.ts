// A server's stderr, read from a pipe by the gateway and appended to its log file. The gateway, not
// the child, holds the file: it is opened without following links (a planted
// `<server>.stderr.log -> ~/.bashrc` refuses the start) and rotated while the server runs, so one
// server's logs never take more than 2 × maxBytes of disk however much it writes.
import { closeSync, fstatSync, renameSync, write } from "node:fs";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { assertSafeFile, createExclusiveNoFollow, ensurePrivateDir, openAppendNoFollow } from "../adapters/safe-files.js";

/** Size at which a log moves to `<log>.1`: a server's two files stay within twice this. */
export const MAX_LOG_BYTES = 10 * 1024 * 1024;

export interface StderrLogOptions {
  /** Size at which the log is rotated (default MAX_LOG_BYTES). */
  maxBytes?: number;
  /** The log had to stop while the server runs (a rotation refused, a full disk); its output is then discarded. */
  onProblem?: (message: string) => void;
}

function writeAsync(fd: number, buf: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => write(fd, buf, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

export class StderrLog {
  private constructor(
    readonly file: string,
    private fd: number | undefined,
    private size: number,
    private readonly maxBytes: number,
    private readonly onProblem: ((message: string) => void) | undefined,
  ) {}

  /**
   * Checks the directory (ours, not a link) and both names (absent, or plain files of ours), moves
   * a log already at the cap aside, and opens it. Throws UnsafeFileError naming the file otherwise.
   */
  static open(file: string, options: StderrLogOptions = {}): StderrLog {
    const maxBytes = options.maxBytes ?? MAX_LOG_BYTES;
    ensurePrivateDir(dirname(file));
    // A planted `<log>.1` would only be replaced by a rotation, never written through; it is still
    // refused, since someone put it there and the user should know.
    assertSafeFile(`${file}.1`);
    let fd = openAppendNoFollow(file);
    let size = fstatSync(fd).size;
    if (size >= maxBytes) {
      closeSync(fd);
      renameSync(file, `${file}.1`);
      fd = createExclusiveNoFollow(file);
      size = 0;
    }
    return new StderrLog(file, fd, size, maxBytes, options.onProblem);
  }

  /**
   * Appends what `stream` delivers until it ends, then closes the file. One write at a time, and the
   * stream is not read meanwhile: a server flooding stderr is held back by its full pipe instead of
   * filling the gateway's memory. Writes go through libuv's thread pool, off the protocol's path.
   */
  async pump(stream: Readable): Promise<void> {
    try {
      for await (const chunk of stream) await this.append(chunk as Buffer);
    } catch {
      // The stream was destroyed (an exited server's lingering grandchild): what arrived is written.
    } finally {
      this.closeFile();
    }
  }

  private async append(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length && this.fd !== undefined) {
      if (this.size >= this.maxBytes) {
        this.rotate();
        continue;
      }
      // Split at the cap, so each file holds at most maxBytes.
      const length = Math.min(chunk.length - offset, this.maxBytes - this.size);
      try {
        const n = await writeAsync(this.fd, chunk, offset, length);
        offset += n;
        this.size += n;
      } catch (e) {
        this.stop(`cannot write ${this.file}: ${(e as Error).message}`);
      }
    }
  }

  /** `<log>` becomes `<log>.1` (a rename replaces whatever had that name, a link included), then a fresh file that nothing else may have created. */
  private rotate() {
    this.closeFile();
    try {
      try {
        renameSync(this.file, `${this.file}.1`);
      } catch (e) {
        // The user removed the log: nothing to move aside.
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
      this.fd = createExclusiveNoFollow(this.file);
      this.size = 0;
    } catch (e) {
      this.stop(`cannot rotate the stderr log: ${(e as Error).message}`);
    }
  }

  /** Discards the rest of the output (the pipe is still drained, so the server does not block). */
  private stop(why: string) {
    this.closeFile();
    this.onProblem?.(`${why}; the server's further stderr output is discarded until it restarts`);
  }

  /** Closes the file without reading anything (a spawn that failed). */
  close() {
    this.closeFile();
  }

  private closeFile() {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
  }
}
