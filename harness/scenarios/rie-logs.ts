/**
 * Reading the Runtime Interface Emulator's log lines (pure): the rapid INIT REPORT and Lambda's 10 s
 * init rule (REPORT lines are parsed by invoke/report.ts). The RIE reports "Max Memory Used" as the
 * memory size, whatever was used, so memory is measured from the container's cgroup (sandbox.ts).
 */
import { parseReport } from "../invoke/report.ts";

/**
 * Init durations in ms. The RIE prints `INIT REPORT(durationMs: …)` for each init; its REPORT line's
 * `Init Duration` is not the init's (it printed 0.04 ms after a 162 ms init), so it is used only when
 * no INIT REPORT exists (logs from real Lambda).
 */
export function initDurations(logs: string): number[] {
  const rapid = [...logs.matchAll(/INIT REPORT\(durationMs: ([\d.]+)\)/g)].map((m) => Number(m[1]));
  if (rapid.length > 0) return rapid;
  return logs.split("\n").flatMap((line) => {
    const init = parseReport(line.trim())?.initDurationMs;
    return init === undefined ? [] : [init];
  });
}

/** Lambda stops an init that runs past 10 s and runs it again inside the first invoke. */
export const INIT_LIMIT_MS = 10_000;

export function initWarning(durationMs: number, timeoutS: number): string | undefined {
  if (durationMs <= INIT_LIMIT_MS) return undefined;
  return `init took ${Math.round(durationMs)} ms, over Lambda's ${INIT_LIMIT_MS / 1000} s init limit: Lambda would stop it and run init again inside the first invoke, where it counts against the ${timeoutS} s function timeout — start slow work (model loading) without awaiting it at module level`;
}
