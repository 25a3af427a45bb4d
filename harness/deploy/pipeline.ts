/**
 * `sd-lambda deploy` as a pipeline of steps: account prerequisites, the image built for the configured
 * platform and preflighted (a failing image is never deployed), `cdk deploy`, an optional model upload,
 * then the golden gate against the deployed function as the smoke test. The steps that run processes
 * are passed in, so the order and the refusals are tested without Docker or AWS.
 */
import type { DeployConfig } from "../../deploy/config.ts";
import { type PreflightReport, renderPreflight } from "../preflight/index.ts";
import type { AccountFacts } from "./prerequisites.ts";

/** The stack's outputs (deploy/stack.ts CfnOutputs). */
export interface StackOutputs {
  readonly FunctionName: string;
  readonly FunctionUrl: string;
  readonly LoaderFunctionName: string;
  readonly StagingBucket: string;
  readonly FileSystemId: string;
}

export interface DeploySteps {
  prerequisites(config: DeployConfig, region: string): Promise<AccountFacts>;
  /** Builds the function image with an explicit --platform; returns its tag and the base image. */
  buildImage(config: DeployConfig): Promise<{ image: string; baseImage: string }>;
  preflight(image: string, config: DeployConfig): Promise<PreflightReport>;
  cdkDeploy(config: DeployConfig, region: string, baseImage: string): Promise<StackOutputs>;
  upload(outputs: StackOutputs, region: string, from: string, model: string): Promise<void>;
  /** The golden gate against the deployed function; its exit code. */
  smokeTest(functionName: string, region: string): Promise<number>;
}

export interface DeployOptions {
  readonly region: string;
  /** Upload this model folder (as `upload.model`) before the smoke test. */
  readonly upload?: { readonly from: string; readonly model: string };
  readonly smokeTest: boolean;
}

export class DeployRefusedError extends Error {
  readonly code = "DEPLOY_REFUSED";
}

export async function deploy(
  config: DeployConfig,
  options: DeployOptions,
  steps: DeploySteps,
  say: (line: string) => void,
): Promise<{ outputs: StackOutputs; smokeTest: number | undefined }> {
  const { region } = options;
  const facts = await steps.prerequisites(config, region);
  say(
    `account ${facts.account} (${facts.arn}) in ${region}: CDK bootstrap version ${facts.bootstrapVersion}${facts.concurrentExecutions === undefined ? "" : `, Lambda concurrency ${facts.concurrentExecutions}`}`,
  );
  for (const warning of facts.warnings) say(`WARNING: ${warning}`);

  const { image, baseImage } = await steps.buildImage(config);
  const report = await steps.preflight(image, config);
  if (!report.ok)
    throw new DeployRefusedError(
      `[sd-lambda] not deploying: preflight failed on ${image} for ${config.function.architecture}\n${renderPreflight(report)}`,
    );
  say(`preflight passed on ${image} (${config.function.architecture})`);

  const outputs = await steps.cdkDeploy(config, region, baseImage);
  say(`deployed stack ${config.stackName}: function ${outputs.FunctionName}, URL ${outputs.FunctionUrl}`);
  if (options.upload) {
    await steps.upload(outputs, region, options.upload.from, options.upload.model);
    say(`model ${options.upload.model} is on EFS`);
  }
  if (!options.smokeTest) return { outputs, smokeTest: undefined };
  say(`smoke test: sd-lambda golden --target aws --function-name ${outputs.FunctionName} --region ${region}`);
  const smokeTest = await steps.smokeTest(outputs.FunctionName, region);
  say(
    smokeTest === 0
      ? "smoke test passed: the deployed function matches the goldens"
      : `smoke test FAILED (exit ${smokeTest}): the stack is deployed but does not serve the goldens — see reports/golden/index.html`,
  );
  return { outputs, smokeTest };
}
