/**
 * The CDK app `cdk synth` / `cdk deploy` run (cdk.json): one stack from sd-lambda.config.ts.
 * SD_LAMBDA_BASE_IMAGE overrides the base image the function image is built FROM (sd-lambda deploy
 * passes the one it built and preflighted with).
 */
import { App } from "aws-cdk-lib";
import { loadDeployConfig } from "./config.ts";
import { SdLambdaStack } from "./stack.ts";

const config = loadDeployConfig();
const app = new App();
new SdLambdaStack(app, config.stackName, {
  config,
  ...(process.env.SD_LAMBDA_BASE_IMAGE ? { baseImage: process.env.SD_LAMBDA_BASE_IMAGE } : {}),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
