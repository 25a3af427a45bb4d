// The CDK stack synthesized offline (no credentials, no Docker: image assets are only built by
// `cdk deploy`, and asset staging is turned off so the repository is not copied) for both
// architectures, checked with aws-cdk-lib/assertions; and the emulator's compose variables and function
// environment derived from the same configuration.
import { App, cx_api } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { describe, expect, it } from "vitest";
import { type DeployConfigInput, parseDeployConfig } from "../../deploy/config.ts";
import { SdLambdaStack } from "../../deploy/stack.ts";
import { emulatorFiles, settingsFromEnv } from "../../harness/emulator/stack.ts";

function synth(input: DeployConfigInput) {
  const config = parseDeployConfig(input, "test config");
  const app = new App({ context: { [cx_api.DISABLE_ASSET_STAGING_CONTEXT]: true } });
  const stack = new SdLambdaStack(app, config.stackName, {
    config,
    env: { account: "123456789012", region: "eu-west-1" },
  });
  const template = Template.fromStack(stack);
  // the image asset as `cdk deploy` would build it (platform, Dockerfile target, build arguments)
  const manifests = app.synth().artifacts.filter((a) => a instanceof cx_api.AssetManifestArtifact);
  const images = manifests.flatMap((m) => Object.values(m.contents.dockerImages ?? {}).map((i) => i.source));
  return { config, template, images };
}

/** The function (not the loader): the one with the function URL's target description. */
function theFunction(template: Template): Record<string, unknown> {
  const fns = template.findResources("AWS::Lambda::Function", {
    Properties: { Description: Match.stringLikeRegexp("^sd-lambda: Stable Diffusion") },
  });
  expect(Object.keys(fns)).toHaveLength(1);
  return (Object.values(fns)[0] as { Properties: Record<string, unknown> }).Properties;
}

describe("the CDK stack from the default configuration (x86_64)", () => {
  const { template, images } = synth({});

  it("is an image function with the configured memory, timeout, storage and architecture", () => {
    expect(theFunction(template)).toMatchObject({
      PackageType: "Image",
      MemorySize: 10240,
      Timeout: 300,
      EphemeralStorage: { Size: 512 },
      Architectures: ["x86_64"],
      Environment: { Variables: { MNT_DIR: "/mnt/fs" } },
      ImageConfig: { Command: ["dist/runtime/handler.handler"] },
    });
    expect(theFunction(template)).not.toHaveProperty("ReservedConcurrentExecutions");
    expect(images).toEqual([
      expect.objectContaining({
        dockerFile: "runtime/Dockerfile",
        platform: "linux/amd64",
        dockerBuildArgs: { BASE_IMAGE: "public.ecr.aws/lambda/nodejs:24", DEPS_DIR: ".cache/function" },
      }),
    ]);
    expect(images[0]).not.toHaveProperty("dockerBuildTarget");
  });

  it("mounts EFS (Elastic throughput, encrypted) through an access point with the configured POSIX user", () => {
    expect(theFunction(template)).toMatchObject({
      FileSystemConfigs: [
        {
          LocalMountPath: "/mnt/fs",
          Arn: {
            "Fn::Join": ["", expect.arrayContaining([{ Ref: expect.stringMatching(/^ModelsAccessPoint/) }])],
          },
        },
      ],
      VpcConfig: { SubnetIds: expect.any(Array), SecurityGroupIds: expect.any(Array) },
    });
    template.hasResourceProperties("AWS::EFS::FileSystem", { ThroughputMode: "elastic", Encrypted: true });
    template.hasResourceProperties("AWS::EFS::AccessPoint", {
      PosixUser: { Uid: "993", Gid: "990" },
      RootDirectory: {
        Path: "/sd-lambda",
        CreationInfo: { OwnerUid: "993", OwnerGid: "990", Permissions: "750" },
      },
    });
    // NFS from the functions' security groups to the file system's
    template.hasResourceProperties("AWS::EC2::SecurityGroupIngress", { FromPort: 2049, ToPort: 2049 });
  });

  it("places the functions in a new VPC's isolated subnets with an S3 gateway endpoint and no NAT", () => {
    template.resourceCountIs("AWS::EC2::VPC", 1);
    template.resourceCountIs("AWS::EC2::NatGateway", 0);
    template.hasResourceProperties("AWS::EC2::VPCEndpoint", { VpcEndpointType: "Gateway" });
    const subnetRefs = (theFunction(template).VpcConfig as { SubnetIds: { Ref: string }[] }).SubnetIds;
    expect(subnetRefs.map((s) => s.Ref)).toEqual([
      expect.stringMatching(/^VpcisolatedSubnet1/),
      expect.stringMatching(/^VpcisolatedSubnet2/),
    ]);
  });

  it("gives the function a URL with AWS_IAM auth, and the loader the same mount and read access to staging", () => {
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "AWS_IAM" });
    template.hasResourceProperties("AWS::Lambda::Function", {
      ImageConfig: { Command: ["dist/runtime/loader/handler.handler"] },
      FileSystemConfigs: [{ LocalMountPath: "/mnt/fs" }],
      Environment: { Variables: { MNT_DIR: "/mnt/fs", STAGING_BUCKET: Match.anyValue() } },
    });
    template.hasResourceProperties("AWS::Logs::LogGroup", { RetentionInDays: 30 });
    const outputs = Object.keys(template.toJSON().Outputs as object);
    expect(outputs).toEqual([
      "FunctionName",
      "FunctionUrl",
      "LoaderFunctionName",
      "StagingBucket",
      "FileSystemId",
    ]);
  });
});

describe("a changed configuration (arm64)", () => {
  const changed: DeployConfigInput = {
    function: {
      memoryMb: 3008,
      timeoutS: 120,
      ephemeralStorageMb: 2048,
      architecture: "arm64",
      environment: { SD_MAX_STEPS: "50" },
      reservedConcurrency: 2,
    },
    efs: { mountPath: "/mnt/models-efs", uid: 1000, gid: 1001, rootPermissions: "755" },
    model: { name: "sd15" },
    url: { authType: "NONE", cors: { allowOrigins: ["https://example.com"] } },
  };
  const { config, template, images } = synth(changed);

  it("the template follows: memory, timeout, storage, architecture, environment, concurrency, mount, POSIX user, URL", () => {
    expect(theFunction(template)).toMatchObject({
      MemorySize: 3008,
      Timeout: 120,
      EphemeralStorage: { Size: 2048 },
      Architectures: ["arm64"],
      ReservedConcurrentExecutions: 2,
      Environment: { Variables: { SD_MAX_STEPS: "50", MNT_DIR: "/mnt/models-efs", SD_MODEL: "sd15" } },
      FileSystemConfigs: [{ LocalMountPath: "/mnt/models-efs" }],
    });
    template.hasResourceProperties("AWS::EFS::AccessPoint", {
      PosixUser: { Uid: "1000", Gid: "1001" },
      RootDirectory: { CreationInfo: { OwnerUid: "1000", OwnerGid: "1001", Permissions: "755" } },
    });
    template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      Cors: { AllowOrigins: ["https://example.com"], AllowMethods: ["POST"] },
    });
    expect(images).toEqual([
      expect.objectContaining({
        platform: "linux/arm64",
        dockerBuildArgs: { BASE_IMAGE: "public.ecr.aws/lambda/nodejs:24", DEPS_DIR: ".cache/function-arm64" },
      }),
    ]);
  });

  it("the emulator follows: compose variables and the function's environment", () => {
    const settings = settingsFromEnv({ MODELS_DIR: "/models" }, config);
    const { compose, functionEnv } = emulatorFiles(settings, 2, "sd-lambda/base:nodejs24");
    expect(compose).toEqual({
      MEMORY_MB: "3008",
      CPUS: "1.7",
      TIMEOUT_S: "120",
      EPHEMERAL_STORAGE_MB: "2048",
      BASE_IMAGE: "sd-lambda/base:nodejs24",
      PLATFORM: "linux/arm64",
      BUILD_TARGET: "function",
      MODELS_DIR: "/models",
      MNT_DIR: "/mnt/models-efs",
      EFS_UID: "1000",
      EFS_GID: "1001",
      EFS_MODE: "755",
    });
    const deployed = (theFunction(template).Environment as { Variables: Record<string, string> }).Variables;
    expect(functionEnv).toMatchObject(deployed);
    expect(functionEnv).toMatchObject({
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "3008",
      AWS_LAMBDA_FUNCTION_TIMEOUT: "120",
    });
  });
});

describe("an existing VPC", () => {
  it("is looked up by id and the functions go in its private subnets", () => {
    const { template } = synth({ vpc: { existingVpcId: "vpc-0abc1234" } });
    template.resourceCountIs("AWS::EC2::VPC", 0);
    // without cached lookup context CDK synthesizes its dummy VPC (subnets p-12345, p-67890)
    expect((theFunction(template).VpcConfig as { SubnetIds: string[] }).SubnetIds).toEqual([
      "p-12345",
      "p-67890",
    ]);
  });
});

describe("model location image", () => {
  it("builds the model-in-image target, mounts no file system and points MNT_DIR at the baked folder", () => {
    const { template, images } = synth({ model: { name: "tiny-sd", location: "image" } });
    const fn = theFunction(template);
    expect(fn).not.toHaveProperty("FileSystemConfigs");
    expect(fn).toMatchObject({
      Environment: { Variables: { MNT_DIR: "/opt/sd-lambda", SD_MODEL: "tiny-sd" } },
    });
    expect(images.map((i) => i.dockerBuildTarget)).toEqual(["model-in-image"]);
  });
});
