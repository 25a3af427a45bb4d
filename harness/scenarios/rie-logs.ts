/**
 * Reading the Runtime Interface Emulator's log lines (pure): REPORT lines, the rapid INIT REPORT, and
 * Lambda's 10 s init rule. Note the RIE reports "Max Memory Used" as the memory size, whatever was
 * used, so memory is measured from the container's cgroup instead (sandbox.ts).
 */

export interface Report {
  readonly requestId: string;
  readonly durationMs: number;
  readonly initDurationMs: number | undefined;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
}

/** Lambda's REPORT lines (`REPORT RequestId: … Duration: … ms …`). */
export function parseReports(logs: string): Report[] {
  const reports: Report[] = [];
  for (const line of logs.split("\n")) {
    const match = /^REPORT RequestId: (\S+)\s+(.*)$/.exec(line.trim());
    if (!match) continue;
    const field = (name: string) => {
      const m = new RegExp(`\\t${name}: ([\\d.]+)`).exec(`\t${match[2] as string}`);
      return m ? Number(m[1]) : undefined;
    };
    reports.push({
      requestId: match[1] as string,
      durationMs: field("Duration") ?? 0,
      initDurationMs: field("Init Duration"),
      memorySizeMb: field("Memory Size") ?? 0,
      maxMemoryUsedMb: field("Max Memory Used") ?? 0,
    });
  }
  return reports;
}

/**
 * Init durations in ms. The RIE prints `INIT REPORT(durationMs: …)` for each init; its REPORT line's
 * `Init Duration` is not the init's (it printed 0.04 ms after a 162 ms init), so it is used only when
 * no INIT REPORT exists (logs from real Lambda).
 */
export function initDurations(logs: string): number[] {
  const rapid = [...logs.matchAll(/INIT REPORT\(durationMs: ([\d.]+)\)/g)].map((m) => Number(m[1]));
  if (rapid.length > 0) return rapid;
  return parseReports(logs).flatMap((r) => (r.initDurationMs === undefined ? [] : [r.initDurationMs]));
}

/** Lambda stops an init that runs past 10 s and runs it again inside the first invoke. */
export const INIT_LIMIT_MS = 10_000;

export function initWarning(durationMs: number, timeoutS: number): string | undefined {
  if (durationMs <= INIT_LIMIT_MS) return undefined;
  return `init took ${Math.round(durationMs)} ms, over Lambda's ${INIT_LIMIT_MS / 1000} s init limit: Lambda would stop it and run init again inside the first invoke, where it counts against the ${timeoutS} s function timeout — start slow work (model loading) without awaiting it at module level`;
}
