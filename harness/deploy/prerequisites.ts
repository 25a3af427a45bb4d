/**
 * What `sd-lambda deploy` checks in the AWS account before building anything: credentials (STS), the
 * CDK bootstrap stack (its SSM version parameter), and Lambda's account settings (concurrency; the
 * memory ceiling has no API, so a size over what new accounts get is a warning with the fix).
 */
import { GetAccountSettingsCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import type { DeployConfig } from "../../deploy/config.ts";

/** The CDK bootstrap version this app's assets need (image assets in the bootstrap ECR repository). */
export const MIN_BOOTSTRAP_VERSION = 6;
export const BOOTSTRAP_PARAMETER = "/cdk-bootstrap/hnb659fds/version";
/** What many new accounts may configure until AWS raises it (no API reports it). */
export const NEW_ACCOUNT_MEMORY_MB = 3008;
/** Lambda keeps this much of the account's concurrency unreserved. */
export const MIN_UNRESERVED = 10;

export class PrerequisiteError extends Error {
  readonly code = "DEPLOY_PREREQUISITE";
}

export interface AccountFacts {
  readonly account: string;
  readonly arn: string;
  readonly region: string;
  readonly bootstrapVersion: number;
  readonly concurrentExecutions: number | undefined;
  /** Warnings a person should read before the deploy goes on. */
  readonly warnings: string[];
}

export async function checkPrerequisites(config: DeployConfig, region: string): Promise<AccountFacts> {
  const sts = new STSClient({ region, maxAttempts: 1 });
  const identity = await sts.send(new GetCallerIdentityCommand({})).catch((cause: unknown) => {
    throw new PrerequisiteError(
      `[sd-lambda] no usable AWS credentials (${describe(cause)}) — run \`aws configure\` or \`aws sso login\`, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
      { cause },
    );
  });
  const account = identity.Account ?? "unknown";
  const bootstrap = `npx cdk bootstrap aws://${account}/${region}`;
  const ssm = new SSMClient({ region, maxAttempts: 1 });
  const parameter = await ssm
    .send(new GetParameterCommand({ Name: BOOTSTRAP_PARAMETER }))
    .catch((cause: unknown) => {
      const missing = (cause as { name?: string }).name === "ParameterNotFound";
      throw new PrerequisiteError(
        missing
          ? `[sd-lambda] account ${account} is not bootstrapped for the CDK in ${region} (no SSM parameter ${BOOTSTRAP_PARAMETER}) — run \`${bootstrap}\` once`
          : `[sd-lambda] cannot read ${BOOTSTRAP_PARAMETER} in ${region} as ${identity.Arn} (${describe(cause)}) — the deploying identity needs ssm:GetParameter, or run \`${bootstrap}\``,
        { cause },
      );
    });
  const bootstrapVersion = Number(parameter.Parameter?.Value);
  if (!(bootstrapVersion >= MIN_BOOTSTRAP_VERSION))
    throw new PrerequisiteError(
      `[sd-lambda] the CDK bootstrap in ${region} is version ${parameter.Parameter?.Value}; this app needs ${MIN_BOOTSTRAP_VERSION} or later — run \`${bootstrap}\` to upgrade it`,
    );

  const warnings: string[] = [];
  const memory = config.function.memoryMb;
  if (memory > NEW_ACCOUNT_MEMORY_MB)
    warnings.push(
      `function.memoryMb is ${memory} MB; many new accounts may only configure up to ${NEW_ACCOUNT_MEMORY_MB} MB (no API reports this limit) — if CloudFormation answers "MemorySize value failed to satisfy constraint", ask AWS Support for a Lambda memory increase, or lower function.memoryMb in sd-lambda.config.ts`,
    );
  const lambda = new LambdaClient({ region, maxAttempts: 1 });
  const settings = await lambda.send(new GetAccountSettingsCommand({})).catch((cause: unknown) => {
    warnings.push(`could not read Lambda's account settings (${describe(cause)}); concurrency not checked`);
    return undefined;
  });
  const limit = settings?.AccountLimit;
  const reserved = config.function.reservedConcurrency ?? 0;
  const unreserved = limit?.UnreservedConcurrentExecutions;
  if (unreserved !== undefined && reserved > 0 && unreserved - reserved < MIN_UNRESERVED)
    throw new PrerequisiteError(
      `[sd-lambda] function.reservedConcurrency is ${reserved} but the account has ${unreserved} unreserved concurrent executions of ${limit?.ConcurrentExecutions} in ${region}, and Lambda keeps ${MIN_UNRESERVED} unreserved — lower function.reservedConcurrency in sd-lambda.config.ts or ask AWS for a concurrency increase`,
    );
  if (limit?.ConcurrentExecutions !== undefined && limit.ConcurrentExecutions <= MIN_UNRESERVED)
    warnings.push(
      `the account's Lambda concurrency is ${limit.ConcurrentExecutions} in ${region} (a new account's limit): at most ${limit.ConcurrentExecutions} images at a time — ask AWS for more through Service Quotas`,
    );
  return {
    account,
    arn: identity.Arn ?? "unknown",
    region,
    bootstrapVersion,
    concurrentExecutions: limit?.ConcurrentExecutions,
    warnings,
  };
}

function describe(cause: unknown): string {
  const error = cause as { name?: string; message?: string };
  return [error.name, error.message].filter(Boolean).join(": ") || String(cause);
}
