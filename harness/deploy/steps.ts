/**
 * The real steps behind `sd-lambda deploy` (pipeline.ts orders them): the image built with an explicit
 * --platform from the staged dependencies of the configured architecture, preflight on that image,
 * `cdk deploy` of deploy/app.ts, the model upload, and the golden gate against the deployed function.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { S3Client } from "@aws-sdk/client-s3";
import { type DeployConfig, dockerPlatform, npmCpu } from "../../deploy/config.ts";
import { stagedDepsDir } from "../../deploy/stack.ts";
import { stageImageModel } from "../emulator/model-image.ts";
import { imageInputs, ROOT } from "../emulator/stack.ts";
import { runPreflight } from "../preflight/index.ts";
import { uploadModel } from "./models-upload.ts";
import type { DeploySteps, StackOutputs } from "./pipeline.ts";
import { checkPrerequisites } from "./prerequisites.ts";

/** `cdk deploy --outputs-file`: what `sd-lambda models upload` reads the loader and bucket names from. */
export const OUTPUTS_FILE = join(ROOT, ".cache/cdk-outputs.json");
/** Builds the function image for the configured architecture; the tag names the architecture. */
export function buildFunctionImage(
  config: DeployConfig,
  say: (line: string) => void,
  options: { modelDir?: string } = {},
): { image: string; baseImage: string; env: NodeJS.ProcessEnv } {
  const arch = config.function.architecture;
  const { env, baseImage } = imageInputs(say, [npmCpu(arch)]);
  const inImage = config.model.location === "image";
  if (inImage) {
    const name = config.model.name as string;
    const from = options.modelDir ?? join(ROOT, "fixtures/models", name);
    if (!existsSync(join(from, "model_index.json")))
      throw new Error(
        `[sd-lambda] model.location is "image" but ${from} is not a model folder (no model_index.json) — pass --model-dir DIR`,
      );
    stageImageModel(from, name);
  }
  const image = `sd-lambda/function:${arch}${inImage ? "-model" : ""}`;
  const platform = dockerPlatform(arch);
  say(`building ${image} for ${platform} on ${baseImage}`);
  const args = ["build", "--platform", platform, "--target", inImage ? "model-in-image" : "function"];
  args.push("-f", "runtime/Dockerfile", "-t", image, "--build-arg", `BASE_IMAGE=${baseImage}`);
  args.push("--build-arg", `DEPS_DIR=${stagedDepsDir(arch)}`, ".");
  const built = spawnSync("docker", args, { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  if (built.status !== 0)
    throw new Error(`docker ${args.join(" ")} exited with ${built.status ?? built.signal}`);
  return { image, baseImage, env };
}

export function realSteps(say: (line: string) => void, options: { modelDir?: string } = {}): DeploySteps {
  let dockerEnvironment: NodeJS.ProcessEnv = process.env;
  return {
    prerequisites: checkPrerequisites,
    async buildImage(config) {
      const { image, baseImage, env } = buildFunctionImage(config, say, options);
      dockerEnvironment = env;
      return { image, baseImage };
    },
    preflight: (image, config) =>
      runPreflight({
        runtime: "nodejs24.x",
        memoryMb: config.function.memoryMb,
        source: { kind: "image", image, env: dockerEnvironment },
        arch: config.function.architecture,
      }),
    async cdkDeploy(config, region, baseImage) {
      const args = [join(ROOT, "node_modules/aws-cdk/bin/cdk"), "deploy", config.stackName];
      args.push("--require-approval", "never", "--outputs-file", OUTPUTS_FILE);
      const result = spawnSync(process.execPath, args, {
        cwd: ROOT,
        env: {
          ...dockerEnvironment,
          SD_LAMBDA_BASE_IMAGE: baseImage,
          AWS_REGION: region,
          CDK_DEFAULT_REGION: region,
        },
        stdio: ["ignore", "inherit", "inherit"],
      });
      if (result.status !== 0)
        throw new Error(`cdk deploy exited with ${result.status ?? result.signal} (its output is above)`);
      return stackOutputs(config.stackName);
    },
    async upload(outputs, region, from, model) {
      await uploadModel({
        from,
        model,
        bucket: outputs.StagingBucket,
        s3: new S3Client({ region }),
        lambda: new LambdaClient({ region, maxAttempts: 1 }),
        loaderName: outputs.LoaderFunctionName,
        say,
      });
    },
    async smokeTest(functionName, region) {
      const { goldenVerb } = await import("../commands/golden.ts");
      return goldenVerb.run(["--target", "aws", "--function-name", functionName, "--region", region]);
    },
  };
}

/** The outputs `cdk deploy` wrote for the stack. */
export function stackOutputs(stackName: string): StackOutputs {
  if (!existsSync(OUTPUTS_FILE))
    throw new Error(`[sd-lambda] ${OUTPUTS_FILE} does not exist — run \`sd-lambda deploy\` first`);
  const all = JSON.parse(readFileSync(OUTPUTS_FILE, "utf8")) as Record<string, StackOutputs>;
  const outputs = all[stackName];
  if (!outputs) throw new Error(`[sd-lambda] ${OUTPUTS_FILE} has no outputs for stack ${stackName}`);
  return outputs;
}
