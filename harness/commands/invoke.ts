/**
 * `sd-lambda invoke`: one generation through @aws-sdk/client-lambda, against the emulator
 * (default http://localhost:9000) or a deployed function (--function-name), writing the image and
 * printing the seed, timings and Lambda's REPORT line.
 */
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { describeTarget, invoke, LOCAL_ENDPOINT, type Target } from "../invoke/client.ts";
import { formatReport } from "../invoke/report.ts";
import { REQUEST_OPTIONS, REQUEST_USAGE, requestFromFlags } from "../request-flags.ts";
import { type Command, UsageError } from "./command.ts";

export const INVOKE_USAGE = `usage: sd-lambda invoke ${REQUEST_USAGE}
  --out FILE [--endpoint URL (default ${LOCAL_ENDPOINT})]
  [--function-name NAME [--region R]] [--timeout-s S (default 900)] [--json]`;

export async function invokeCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      ...REQUEST_OPTIONS,
      out: { type: "string" },
      endpoint: { type: "string" },
      "function-name": { type: "string" },
      region: { type: "string" },
      "timeout-s": { type: "string" },
      json: { type: "boolean", default: false },
    },
  });
  if (values.prompt === undefined || !values.out)
    throw new UsageError(`--prompt and --out are required\n${INVOKE_USAGE}`);
  if (values["function-name"] && values.endpoint)
    throw new UsageError(
      "--endpoint and --function-name exclude each other: the emulator, or a deployed function",
    );
  const timeoutS = values["timeout-s"] === undefined ? 900 : Number(values["timeout-s"]);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0)
    throw new UsageError(`--timeout-s must be a positive number of seconds, got ${values["timeout-s"]}`);
  const target: Target = values["function-name"]
    ? { kind: "aws", functionName: values["function-name"], region: values.region }
    : { kind: "local", endpoint: values.endpoint ?? LOCAL_ENDPOINT };

  // Sent as given: the function validates and its error names the field, the value and the limit.
  const request = await requestFromFlags(values);

  const say = (line: string) => {
    if (!values.json) process.stderr.write(line);
  };
  const tty = process.stderr.isTTY === true;
  say(`invoking ${describeTarget(target)}\n`);
  let invoked: Awaited<ReturnType<typeof invoke>>;
  try {
    invoked = await invoke(request, target, {
      timeoutS,
      onTick: (s) => {
        if (tty) say(`\rwaiting for the function… ${s} s`);
        else if (s % 5 === 0) say(`waiting for the function… ${s} s\n`);
      },
    });
  } finally {
    if (tty) say("\r\x1b[K");
  }
  const { result, report } = invoked;
  await writeFile(values.out, invoked.image);
  if (values.json) {
    process.stdout.write(
      `${JSON.stringify({
        out: values.out,
        seed: result.seed,
        width: result.width,
        height: result.height,
        content_type: result.content_type,
        scheduler: result.scheduler,
        steps: result.num_inference_steps,
        model: result.model,
        request_id: result.request_id,
        timings_ms: result.timings_ms,
        warnings: result.warnings,
        elapsed_ms: Math.round(invoked.elapsedMs),
        report: report ?? null,
        report_source: invoked.reportSource ?? null,
      })}\n`,
    );
    return 0;
  }
  for (const w of result.warnings ?? []) say(`warning: ${w}\n`);
  const stages = Object.entries(result.timings_ms ?? {}).map(([k, v]) => `${k} ${v} ms`);
  process.stdout.write(
    `wrote ${values.out} (${result.width}x${result.height} ${result.content_type}, ${result.scheduler}, ${result.num_inference_steps} steps) seed ${result.seed}\n` +
      `timings: ${stages.join(", ")}; round trip ${Math.round(invoked.elapsedMs)} ms\n` +
      `${report ? `${formatReport(report, target.kind === "local")} (from ${invoked.reportSource})` : invoked.reportNote}\n`,
  );
  return 0;
}

export const invokeVerb: Command = { run: invokeCommand, usage: INVOKE_USAGE };
