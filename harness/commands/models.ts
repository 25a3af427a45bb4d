/**
 * `sd-lambda models upload --from DIR|s3://bucket/prefix --model NAME`: a model onto the stack's EFS
 * through its loader function (no EC2 instance). The loader and the staging bucket come from the
 * outputs `sd-lambda deploy` saved, or --loader / --bucket.
 */
import { parseArgs } from "node:util";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { loadDeployConfig } from "../../deploy/config.ts";
import { uploadModel } from "../deploy/models-upload.ts";
import { type Command, UsageError } from "./command.ts";

export const MODELS_USAGE = `usage: sd-lambda models upload --from DIR|s3://bucket/prefix --model NAME [--region R]
  [--loader FUNCTION --bucket BUCKET] [--max-bytes N] [--json]
  stages a model folder in the stack's S3 bucket and invokes the loader until the model is on EFS at
  <mount path>/models/NAME (files checked by SHA-256; a repeated upload copies nothing)`;

export async function modelsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "upload")
    throw new UsageError(`unknown models command ${JSON.stringify(sub ?? "")}\n${MODELS_USAGE}`);
  const { values } = parseArgs({
    args: rest,
    options: {
      from: { type: "string" },
      model: { type: "string" },
      region: { type: "string" },
      loader: { type: "string" },
      bucket: { type: "string" },
      "max-bytes": { type: "string" },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  if (!values.from || !values.model) throw new UsageError(`--from and --model are required\n${MODELS_USAGE}`);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("no region: pass --region or set AWS_REGION");
  let { loader, bucket } = values;
  if (!loader || !bucket) {
    const { stackOutputs } = await import("../deploy/steps.ts");
    const outputs = stackOutputs(loadDeployConfig().stackName);
    loader ??= outputs.LoaderFunctionName;
    bucket ??= outputs.StagingBucket;
  }
  const maxBytes = values["max-bytes"] === undefined ? undefined : Number(values["max-bytes"]);
  if (maxBytes !== undefined && !(Number.isInteger(maxBytes) && maxBytes > 0))
    throw new UsageError(`--max-bytes ${values["max-bytes"]} is not a positive whole number`);
  const result = await uploadModel({
    from: values.from,
    model: values.model,
    bucket,
    s3: new S3Client({ region }),
    lambda: new LambdaClient({ region, maxAttempts: 1 }),
    loaderName: loader,
    ...(maxBytes === undefined ? {} : { maxBytes }),
    say: (line) => process.stderr.write(`[sd-lambda] ${line}\n`),
  });
  const last = result.invokes.at(-1);
  process.stdout.write(
    values.json
      ? `${JSON.stringify(result, null, 2)}\n`
      : `model ${values.model} on EFS: ${last?.files_total} files, ${((last?.bytes_total ?? 0) / 1e6).toFixed(1)} MB, in ${result.invokes.length} loader invokes\n`,
  );
  return 0;
}

export const modelsVerb: Command = { run: modelsCommand, usage: MODELS_USAGE };
