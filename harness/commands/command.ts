/** One `sd-lambda` verb: what it does with its arguments (the exit code) and its usage text. */
export interface Command {
  readonly run: (args: string[]) => Promise<number>;
  /** Printed for --help, and after a flag the verb does not know. */
  readonly usage: string;
}
