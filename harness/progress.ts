/** A progress line rewritten in place on a terminal, one line per update otherwise (CI logs). */
export function progressLine(done: number, total: number, detail: string): string {
  const width = 24;
  const filled = Math.round((done / total) * width);
  const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${detail}`;
  return process.stderr.isTTY ? `\r${bar}` : `${bar}\n`;
}
