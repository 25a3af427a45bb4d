/** One `sd-lambda` verb: what it does with its arguments (the exit code) and its usage text. */
export interface Command {
  readonly run: (args: string[]) => Promise<number>;
  /** Printed for --help, and after a flag the verb does not know. */
  readonly usage: string;
}

/**
 * The command line itself is wrong (a flag missing, a value out of range, flags that exclude each other):
 * exit code 2, like an unknown verb or flag. Exit code 1 is kept for a check that does not hold.
 */
export class UsageError extends Error {
  readonly code = "USAGE";
  override readonly name = "UsageError";
}

/** Exit codes every verb shares. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
