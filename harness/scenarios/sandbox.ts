/**
 * The scenarios' environments: the function image (or an image derived from it) started as a
 * LambdaContainer, with its logs, `docker exec` as uid 993, and memory read from the container's cgroup
 * (v1 memory.stat/max_usage_in_bytes/oom_control, or v2 memory.stat/peak/events).
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import {
  FUNCTION_IMAGE,
  invokeUrl,
  LambdaContainer,
  type LambdaContainerOptions,
} from "../emulator/lambda-container.ts";
import { LambdaEnvironment } from "./lambda-service.ts";

export interface Sandbox {
  readonly container: StartedTestContainer;
  readonly id: string;
  readonly url: string;
  /** Invokes through the harness's Lambda stand-in (lambda-service.ts); `url` is the RIE itself. */
  readonly lambda: LambdaEnvironment;
  logs(): string;
  /** `docker exec` as the container's user (uid 993), or as `user`. */
  exec(command: string[], user?: string): { code: number; output: string };
  memory(): Promise<MemoryFacts>;
  /** `docker diff`: files added (A), changed (C), deleted (D) outside the container's mounts. */
  diff(): string;
  running(): boolean;
  stop(): Promise<void>;
}

export interface MemoryFacts {
  /** Resident anonymous memory of the processes (rss / anon), MB. */
  readonly rssMb: number;
  /** Peak charged to the cgroup since it started, MB. */
  readonly maxUsedMb: number;
  readonly oomKills: number;
}

/** Lets a scenario turn off the read-only root (to audit what the runtime would write). */
class ScenarioContainer extends LambdaContainer {
  constructor(options: LambdaContainerOptions & { readonly writableRoot?: boolean }) {
    super(options);
    if (options.writableRoot) this.hostConfig.ReadonlyRootfs = false;
  }
}

export async function startSandbox(
  options: LambdaContainerOptions & { readonly writableRoot?: boolean },
  env: NodeJS.ProcessEnv,
): Promise<Sandbox> {
  const container = await new ScenarioContainer(options).start();
  const id = container.getId();
  const docker = (args: string[]) =>
    spawnSync("docker", args, { env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  const read = (path: string) => {
    const r = docker(["exec", id, "cat", path]);
    return r.status === 0 ? r.stdout : undefined;
  };
  const memory = async (): Promise<MemoryFacts> => {
    const MB = 1024 * 1024;
    const v1 = read("/sys/fs/cgroup/memory/memory.stat");
    if (v1 !== undefined) {
      const stat = (key: string) => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(v1)?.[1] ?? 0);
      const oom = read("/sys/fs/cgroup/memory/memory.oom_control") ?? "";
      return {
        rssMb: stat("total_rss") / MB,
        maxUsedMb: Number(read("/sys/fs/cgroup/memory/memory.max_usage_in_bytes") ?? 0) / MB,
        oomKills: Number(/oom_kill (\d+)/.exec(oom)?.[1] ?? 0),
      };
    }
    const v2 = read("/sys/fs/cgroup/memory.stat") ?? "";
    const events = read("/sys/fs/cgroup/memory.events") ?? "";
    return {
      rssMb: Number(/^anon (\d+)$/m.exec(v2)?.[1] ?? 0) / MB,
      maxUsedMb: Number(read("/sys/fs/cgroup/memory.peak") ?? 0) / MB,
      oomKills: Number(/oom_kill (\d+)/.exec(events)?.[1] ?? 0),
    };
  };
  const url = invokeUrl(container);
  return {
    container,
    id,
    url,
    lambda: new LambdaEnvironment(url),
    logs: () => {
      const r = docker(["logs", id]);
      return `${r.stdout}${r.stderr}`;
    },
    exec: (command, user) => {
      const r = docker(["exec", ...(user ? ["--user", user] : []), id, ...command]);
      return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}`.trim() };
    },
    memory,
    diff: () => docker(["diff", id]).stdout,
    running: () => docker(["inspect", "-f", "{{.State.Running}}", id]).stdout.trim() === "true",
    stop: async () => {
      docker(["rm", "-f", "-v", id]);
    },
  };
}

/**
 * Builds `tag` FROM the function image with extra Dockerfile lines, in a temporary context holding
 * `files` (host path → context name). Classic builder; nothing is pulled.
 */
export function deriveImage(
  tag: string,
  lines: readonly string[],
  env: NodeJS.ProcessEnv,
  files: Readonly<Record<string, string>> = {},
): string {
  const context = mkdtempSync(join(tmpdir(), "sd-lambda-scenario-"));
  try {
    for (const [from, to] of Object.entries(files)) cpSync(from, join(context, to), { recursive: true });
    writeFileSync(join(context, "Dockerfile"), [`FROM ${FUNCTION_IMAGE}`, ...lines, ""].join("\n"));
    const r = spawnSync("docker", ["build", "-q", "-t", tag, context], {
      env: { ...env, DOCKER_BUILDKIT: "0" },
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`docker build of ${tag} failed: ${r.stderr.trim()}`);
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** A world-readable temporary folder (mkdtemp makes 0700, which uid 993 could not enter). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  spawnSync("chmod", ["0755", dir]);
  return dir;
}
