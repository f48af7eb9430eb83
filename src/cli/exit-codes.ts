// The exit codes every command shares (each command's --help lists its own meanings of them).
export const EXIT = {
  ok: 0,
  /** check: deny; audit verify: something altered or removed; doctor: a required part is missing. */
  denyOrFailed: 1,
  /** Usage or settings error. */
  usage: 2,
  /** check: ask; audit verify: not proven complete. */
  ask: 3,
  /** The gateway could not start or stopped on an error. */
  runtime: 4,
} as const;
