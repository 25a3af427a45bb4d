/**
 * `sd-lambda preflight [--runtime R] [--memory MB] [--model DIR] [--width W --height H]
 * [--bundle DIR | --image NAME] [--json]`: static checks of what would be deployed.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_CONFIG } from "../emulator/config.ts";
import { dockerEnv, ROOT } from "../emulator/stack.ts";
import { type PreflightSource, renderPreflight, runPreflight } from "../preflight/index.ts";
import { type Command, UsageError } from "./command.ts";

export const PREFLIGHT_USAGE = `usage: sd-lambda preflight [--runtime nodejs24.x] [--memory MB (default ${DEFAULT_CONFIG.memoryMb})]
  [--model DIR] [--width W --height H] [--bundle DIR | --image NAME] [--arch x86_64|arm64] [--json]
  static checks before deploy: glibc and libstdc++ versions the native libraries need, files uid 993 cannot read
  (bundle, image, and with --model every file the model references, external data included), memory,
  and with --arch each native file's ELF machine against the target architecture`;

export async function preflightCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      runtime: { type: "string", default: "nodejs24.x" },
      memory: { type: "string", default: String(DEFAULT_CONFIG.memoryMb) },
      model: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      bundle: { type: "string" },
      image: { type: "string" },
      arch: { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (values.bundle && values.image) throw new UsageError("pass --bundle or --image, not both");
  const arch = values.arch;
  if (arch !== undefined && arch !== "x86_64" && arch !== "arm64")
    throw new UsageError(`--arch ${arch} is not a Lambda architecture — x86_64 or arm64`);
  const number = (name: string, raw: string | undefined): number | undefined => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} ${raw} is not a positive integer`);
    return n;
  };
  const memoryMb = number("memory", values.memory) ?? DEFAULT_CONFIG.memoryMb;
  const source: PreflightSource = values.image
    ? { kind: "image", image: values.image, env: dockerEnv() }
    : {
        kind: "bundle",
        dirs: values.bundle
          ? [{ from: values.bundle, to: "/var/task" }]
          : [
              { from: join(ROOT, "dist"), to: "/var/task/dist" },
              { from: join(ROOT, ".cache/function/node_modules"), to: "/var/task/node_modules" },
            ],
      };
  const report = await runPreflight({
    runtime: values.runtime,
    memoryMb,
    source,
    ...(values.model ? { modelDir: values.model } : {}),
    ...(arch ? { arch } : {}),
    ...(values.width ? { width: number("width", values.width) } : {}),
    ...(values.height ? { height: number("height", values.height) } : {}),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderPreflight(report));
  return report.ok ? 0 : 1;
}

export const preflightVerb: Command = { run: preflightCommand, usage: PREFLIGHT_USAGE };
