/**
 * Lambda's REPORT line: parsed from the log tail a real invoke returns (`LogType: "Tail"`, base64
 * `LogResult`), or — the RIE returns no log tail — read from the local container's `docker logs`, found
 * by the host port the endpoint uses.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Report {
  readonly requestId: string;
  readonly durationMs: number;
  readonly billedDurationMs: number;
  readonly memorySizeMb: number;
  readonly maxMemoryUsedMb: number;
  /** Only on a cold start. */
  readonly initDurationMs?: number;
  /** The line as Lambda (or the RIE) printed it. */
  readonly line: string;
}

const FIELD = /(Init Duration|Billed Duration|Duration|Memory Size|Max Memory Used): ([\d.]+) (?:ms|MB)/g;

/** The REPORT line for `requestId` (or the last one when undefined) in a block of log text. */
export function findReport(logs: string, requestId?: string): Report | undefined {
  const lines = logs
    .split("\n")
    .filter((l) => l.startsWith("REPORT RequestId: ") && (!requestId || l.includes(requestId)));
  const line = lines.at(-1);
  return line === undefined ? undefined : parseReport(line);
}

export function parseReport(line: string): Report | undefined {
  const id = /^REPORT RequestId: (\S+)/.exec(line)?.[1];
  if (!id) return undefined;
  const fields = new Map<string, number>();
  for (const m of line.matchAll(FIELD)) fields.set(m[1] ?? "", Number(m[2]));
  const init = fields.get("Init Duration");
  return {
    requestId: id,
    durationMs: fields.get("Duration") ?? Number.NaN,
    billedDurationMs: fields.get("Billed Duration") ?? Number.NaN,
    memorySizeMb: fields.get("Memory Size") ?? Number.NaN,
    maxMemoryUsedMb: fields.get("Max Memory Used") ?? Number.NaN,
    ...(init === undefined ? {} : { initDurationMs: init }),
    line: line.trimEnd(),
  };
}

/** One line a person reads: `REPORT 92 ms (billed 93 ms), init 160 ms, memory 10240 MB, max used 10240 MB`. */
export function formatReport(r: Report, local: boolean): string {
  const init = r.initDurationMs === undefined ? "warm" : `cold, init ${r.initDurationMs} ms`;
  const used = local
    ? `max memory used ${r.maxMemoryUsedMb} MB (the RIE reports the memory size, not what was used)`
    : `max memory used ${r.maxMemoryUsedMb} MB`;
  return `REPORT duration ${r.durationMs} ms (billed ${r.billedDurationMs} ms), ${init}, memory ${r.memorySizeMb} MB, ${used}`;
}

/** The container publishing `port` on this machine, if docker answers and one does. */
export async function containerOnPort(
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  try {
    const { stdout } = await run("docker", ["ps", "-q", "--filter", `publish=${port}`], {
      env,
      timeout: 10_000,
    });
    return stdout.trim().split("\n")[0] || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The REPORT line of `requestId` from the container's logs since `since`. The RIE prints it just after
 * answering, so this polls for up to `waitMs`.
 */
export async function reportFromDockerLogs(
  container: string,
  requestId: string | undefined,
  since: Date,
  waitMs = 2000,
): Promise<Report | undefined> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const { stdout, stderr } = await run(
        "docker",
        ["logs", "--since", new Date(since.getTime() - 1000).toISOString(), container],
        { timeout: 10_000, maxBuffer: 64 * 1024 * 1024 },
      );
      const found = findReport(`${stdout}\n${stderr}`, requestId);
      if (found) return found;
    } catch {
      return undefined;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
