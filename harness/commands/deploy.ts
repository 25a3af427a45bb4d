/**
 * `sd-lambda deploy [--region R] [--upload DIR --model NAME] [--model-dir DIR] [--no-smoke-test]`: the
 * stack of sd-lambda.config.ts into an AWS account — prerequisites, the image built and preflighted for
 * the configured architecture (a failing image is never deployed), `cdk deploy`, then
 * `golden --target aws` as the smoke test.
 */
import { parseArgs } from "node:util";
import { loadDeployConfig } from "../../deploy/config.ts";
import { type DeploySteps, deploy } from "../deploy/pipeline.ts";
import { type Command, UsageError } from "./command.ts";

export const DEPLOY_USAGE = `usage: sd-lambda deploy [--region R] [--upload DIR|s3://bucket/prefix --model NAME] [--model-dir DIR] [--no-smoke-test] [--json]
  deploys the stack in sd-lambda.config.ts: checks credentials, the CDK bootstrap and Lambda's account
  settings; builds the image for the configured architecture and refuses it when preflight fails;
  cdk deploy; uploads a model when asked; then sd-lambda golden --target aws (smoke test)
  --model-dir: the model to bake in when model.location is "image" (default fixtures/models/<model.name>)
  region: --region, else AWS_REGION, else AWS_DEFAULT_REGION`;

/** `steps` replaces the real ones in tests. */
export async function deployCommand(args: string[], steps?: DeploySteps): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      region: { type: "string" },
      upload: { type: "string" },
      model: { type: "string" },
      "model-dir": { type: "string" },
      "no-smoke-test": { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error(`no region: pass --region or set AWS_REGION\n${DEPLOY_USAGE}`);
  if (values.upload && !values.model)
    throw new UsageError("--upload needs --model NAME (the folder name on EFS)");
  const say = (line: string) => process.stderr.write(`[sd-lambda] ${line}\n`);
  const config = loadDeployConfig();
  const chosen =
    steps ??
    (await import("../deploy/steps.ts")).realSteps(
      say,
      values["model-dir"] ? { modelDir: values["model-dir"] } : {},
    );
  const result = await deploy(
    config,
    {
      region,
      smokeTest: !values["no-smoke-test"],
      ...(values.upload && values.model ? { upload: { from: values.upload, model: values.model } } : {}),
    },
    chosen,
    say,
  );
  const o = result.outputs;
  process.stdout.write(
    values.json
      ? `${JSON.stringify(result, null, 2)}\n`
      : [
          `deployed ${config.stackName} to ${region}`,
          `  function     ${o.FunctionName} (${config.function.memoryMb} MB, ${config.function.timeoutS} s, ${config.function.architecture})`,
          `  URL          ${o.FunctionUrl} (auth ${config.url.authType})`,
          `  loader       ${o.LoaderFunctionName}`,
          `  staging      s3://${o.StagingBucket}`,
          `  file system  ${o.FileSystemId} at ${config.efs.mountPath}`,
          `next: npx sd-lambda models upload --from DIR --model NAME; npx sd-lambda invoke --function-name ${o.FunctionName} --region ${region} --prompt tree`,
          "",
        ].join("\n"),
  );
  return result.smokeTest === undefined || result.smokeTest === 0 ? 0 : 1;
}

export const deployVerb: Command = { run: (args) => deployCommand(args), usage: DEPLOY_USAGE };
