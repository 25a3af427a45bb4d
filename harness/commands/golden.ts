/**
 * `sd-lambda golden`: the golden-seed regression gate. Runs every case of fixtures/golden/cases.json on a
 * target, compares each image with its golden through pixelmatch, writes the reports (HTML, JUnit, JSON)
 * and exits 1 when any case does not match.
 */
import { availableParallelism } from "node:os";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { runtimeConfig } from "../../runtime/config.ts";
import { ROOT, settingsFromEnv } from "../emulator/stack.ts";
import {
  awsTarget,
  emulatorTarget,
  loadCases,
  localTarget,
  renderCli,
  runGate,
  TARGET_NAMES,
  type Target,
  type TargetName,
  UPDATE_MODES,
  type UpdateMode,
} from "../golden/index.ts";
import { progressLine } from "../progress.ts";
import { type Command, UsageError } from "./command.ts";

export const GOLDEN_USAGE = `usage: sd-lambda golden [--target local|emulator|aws] [--update none|missing|changed|all]
  [--case NAME]... [--model NAME]... [--report-dir DIR] [--json]
  emulator: [--endpoint URL]   (default http://localhost:9000, the RIE started by \`sd-lambda up\`)
  aws:      --function-name NAME [--region REGION]
  local:    [--models-dir DIR]... [--threads N] [--runtime-dir DIR]   (a copy of runtime/ to test instead;
            models are looked up in fixtures/models, then fixtures/families)
  [--cases FILE] [--golden-dir DIR]   (default fixtures/golden/cases.json and its folder)`;

export async function goldenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      target: { type: "string", default: "emulator" },
      update: { type: "string", default: "none" },
      case: { type: "string", multiple: true },
      model: { type: "string", multiple: true },
      "report-dir": { type: "string", default: "reports/golden" },
      json: { type: "boolean", default: false },
      endpoint: { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      "models-dir": { type: "string", multiple: true },
      threads: { type: "string" },
      "runtime-dir": { type: "string" },
      cases: { type: "string" },
      "golden-dir": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${GOLDEN_USAGE}\n`);
    return 0;
  }
  if (!TARGET_NAMES.includes(values.target as TargetName))
    throw new UsageError(
      `--target must be one of ${TARGET_NAMES.join(", ")}, got "${values.target}"\n${GOLDEN_USAGE}`,
    );
  if (!UPDATE_MODES.includes(values.update as UpdateMode))
    throw new UsageError(
      `--update must be one of ${UPDATE_MODES.join(", ")}, got "${values.update}"\n${GOLDEN_USAGE}`,
    );
  const casesFile = resolve(values.cases ?? join(ROOT, "fixtures/golden/cases.json"));
  const goldenDir = resolve(values["golden-dir"] ?? join(casesFile, ".."));
  const reportDir = resolve(values["report-dir"]);
  const target = makeTarget(values.target as TargetName, values);
  const log = (text: string) => {
    if (!values.json) process.stderr.write(text);
  };
  try {
    const result = await runGate({
      cases: await loadCases(casesFile),
      only: values.case,
      models: values.model,
      target,
      goldenDir,
      reportDir,
      update: values.update as UpdateMode,
      root: ROOT,
      onProgress: (done, total, name) => log(progressLine(done, total, name)),
    });
    if (process.stderr.isTTY) log("\n");
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else process.stdout.write(renderCli(result, relative(process.cwd(), result.reports.html) || "."));
    return result.passed ? 0 : 1;
  } finally {
    await target.close();
  }
}

function makeTarget(
  name: TargetName,
  values: Record<string, string | boolean | string[] | undefined>,
): Target {
  const str = (key: string) => values[key] as string | undefined;
  const only = (allowed: string[]) => {
    const stray = ["endpoint", "function-name", "region", "models-dir", "threads", "runtime-dir"].filter(
      (k) => values[k] !== undefined && !allowed.includes(k),
    );
    if (stray.length)
      throw new UsageError(`--${stray.join(", --")} does not apply to --target ${name}\n${GOLDEN_USAGE}`);
  };
  switch (name) {
    case "local": {
      only(["models-dir", "threads", "runtime-dir"]);
      const raw = str("threads");
      const threads = raw === undefined ? availableParallelism() : Number(raw);
      if (!Number.isInteger(threads) || threads < 1)
        throw new UsageError(`--threads must be a positive integer, got ${raw}`);
      const modelsDirs = values["models-dir"] as string[] | undefined;
      const runtimeDir = str("runtime-dir");
      return localTarget({
        threads,
        ...(modelsDirs ? { modelsDirs: modelsDirs.map((d) => resolve(d)) } : {}),
        ...(runtimeDir ? { runtimeDir: resolve(runtimeDir) } : {}),
      });
    }
    case "emulator": {
      only(["endpoint"]);
      // the threads the handler picks in the sandbox `sd-lambda up` starts (memory → vCPUs)
      const memory = settingsFromEnv().memoryMb;
      const threads = runtimeConfig({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memory) }).threads;
      return emulatorTarget({ endpoint: str("endpoint"), threads });
    }
    case "aws": {
      only(["function-name", "region"]);
      const functionName = str("function-name");
      if (!functionName) throw new UsageError(`--target aws needs --function-name\n${GOLDEN_USAGE}`);
      const region = str("region");
      return awsTarget({ functionName, ...(region ? { region } : {}) });
    }
  }
}

export const goldenVerb: Command = { run: goldenCommand, usage: GOLDEN_USAGE };
