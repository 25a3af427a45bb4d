/**
 * The AWS CDK stack, built from the one configuration (deploy/config.ts): the function as a container
 * image from runtime/Dockerfile for the configured architecture, a VPC, EFS in Elastic throughput mode
 * with an access point (POSIX user and root permissions as the emulator's /mnt stand-in), the mount, a
 * function URL, and the model loader (the same image, another CMD) that copies models from a staging
 * bucket onto EFS — no EC2 instance.
 */
import {
  CfnOutput,
  Duration,
  aws_ec2 as ec2,
  aws_ecr_assets as ecrAssets,
  aws_efs as efs,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Size,
  Stack,
  type StackProps,
  aws_s3 as s3,
} from "aws-cdk-lib";
import type { Construct } from "constructs";
import { type DeployConfig, functionEnvironment, LOADER_HANDLER } from "./config.ts";

export const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** The folder stage-deps.sh fills for an architecture (the Dockerfile's DEPS_DIR). */
export function stagedDepsDir(architecture: DeployConfig["function"]["architecture"]): string {
  return architecture === "arm64" ? ".cache/function-arm64" : ".cache/function";
}

export interface SdLambdaStackProps extends StackProps {
  readonly config: DeployConfig;
  /** The base image the Dockerfile builds FROM (AWS's, or the stand-in scripts/base-image.sh names). */
  readonly baseImage?: string;
}

export class SdLambdaStack extends Stack {
  readonly function: lambda.DockerImageFunction;
  readonly loader: lambda.DockerImageFunction;

  constructor(scope: Construct, id: string, props: SdLambdaStackProps) {
    super(scope, id, props);
    const { config } = props;
    const fn = config.function;
    const arm = fn.architecture === "arm64";
    const image = (cmd: string) =>
      lambda.DockerImageCode.fromImageAsset(ROOT, {
        file: "runtime/Dockerfile",
        platform: arm ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64,
        buildArgs: {
          BASE_IMAGE: props.baseImage ?? "public.ecr.aws/lambda/nodejs:24",
          DEPS_DIR: stagedDepsDir(fn.architecture),
        },
        ...(config.model.location === "image" ? { target: "model-in-image" } : {}),
        cmd: [cmd],
      });

    const vpc = config.vpc.existingVpcId
      ? ec2.Vpc.fromLookup(this, "Vpc", { vpcId: config.vpc.existingVpcId })
      : new ec2.Vpc(this, "Vpc", {
          maxAzs: 2,
          natGateways: 0,
          // No internet route: the function needs EFS (in the VPC) and S3 (the gateway endpoint) only.
          subnetConfiguration: [{ name: "isolated", subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
          gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
        });
    const subnets: ec2.SubnetSelection = config.vpc.existingVpcId
      ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }
      : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    const fileSystem = new efs.FileSystem(this, "Models", {
      vpc,
      vpcSubnets: subnets,
      encrypted: true,
      // Bursting mode gives a small file system ~50 KiB/s per GiB stored once its credits are spent: a
      // 4 GiB model would take an hour to load. Elastic scales with the reads.
      throughputMode: efs.ThroughputMode.ELASTIC,
      performanceMode: efs.PerformanceMode.GENERAL_PURPOSE,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const accessPoint = fileSystem.addAccessPoint("AccessPoint", {
      path: "/sd-lambda",
      posixUser: { uid: String(config.efs.uid), gid: String(config.efs.gid) },
      createAcl: {
        ownerUid: String(config.efs.uid),
        ownerGid: String(config.efs.gid),
        permissions: config.efs.rootPermissions,
      },
    });
    const mount = lambda.FileSystem.fromEfsAccessPoint(accessPoint, config.efs.mountPath);

    const architecture = arm ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
    const logGroup = (name: string) =>
      new logs.LogGroup(this, `${name}Logs`, {
        retention: fn.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      });

    this.function = new lambda.DockerImageFunction(this, "Function", {
      code: image("dist/runtime/handler.handler"),
      architecture,
      memorySize: fn.memoryMb,
      timeout: Duration.seconds(fn.timeoutS),
      ephemeralStorageSize: Size.mebibytes(fn.ephemeralStorageMb),
      environment: functionEnvironment(config),
      vpc,
      vpcSubnets: subnets,
      ...(config.model.location === "efs" ? { filesystem: mount } : {}),
      ...(fn.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: fn.reservedConcurrency }),
      logGroup: logGroup("Function"),
      description: `sd-lambda: Stable Diffusion (${config.model.name}, ${config.model.location})`,
    });

    const staging = new s3.Bucket(this, "Staging", {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Staged uploads are only needed until the loader has copied them onto EFS.
      lifecycleRules: [
        { expiration: Duration.days(7), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.loader = new lambda.DockerImageFunction(this, "Loader", {
      code: image(LOADER_HANDLER),
      architecture,
      memorySize: 1769,
      timeout: Duration.seconds(900),
      environment: { MNT_DIR: config.efs.mountPath, STAGING_BUCKET: staging.bucketName },
      vpc,
      vpcSubnets: subnets,
      filesystem: mount,
      // no reserved concurrency: a new account's 10 would leave less than the 10 Lambda keeps unreserved
      logGroup: logGroup("Loader"),
      description: "sd-lambda: copies a staged model from S3 onto EFS (sd-lambda models upload)",
    });
    staging.grantRead(this.loader);

    const url = this.function.addFunctionUrl({
      authType:
        config.url.authType === "NONE" ? lambda.FunctionUrlAuthType.NONE : lambda.FunctionUrlAuthType.AWS_IAM,
      ...(config.url.cors
        ? {
            cors: {
              allowedOrigins: config.url.cors.allowOrigins,
              allowedMethods: config.url.cors.allowMethods.map((m) => m as lambda.HttpMethod),
              allowedHeaders: config.url.cors.allowHeaders,
            },
          }
        : {}),
    });

    new CfnOutput(this, "FunctionName", { value: this.function.functionName });
    new CfnOutput(this, "FunctionUrl", { value: url.url });
    new CfnOutput(this, "LoaderFunctionName", { value: this.loader.functionName });
    new CfnOutput(this, "StagingBucket", { value: staging.bucketName });
    new CfnOutput(this, "FileSystemId", { value: fileSystem.fileSystemId });
  }
}
