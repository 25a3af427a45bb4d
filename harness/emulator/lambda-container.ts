/**
 * The function image as one testcontainers container, sandboxed the way docker-compose.yml's `function`
 * service is (read-only root, exec-able sized /tmp, uid 993:990, memory and CPU limits, Lambda's
 * variables, models bind-mounted at /mnt/fs) but on a random host port, so golden runs, failure
 * scenarios and tests can each start their own variant side by side. Build the image first with
 * `prepare()` from stack.ts.
 */
import { availableParallelism } from "node:os";
import { GenericContainer, type StartedTestContainer, Wait } from "testcontainers";
import { loadDeployConfig } from "../../deploy/config.ts";
import { composeEnv, DEFAULT_CONFIG } from "./config.ts";

export const FUNCTION_IMAGE = "sd-lambda/function";

export interface LambdaContainerOptions {
  /** Host folder mounted read-only at <mount path>/models; undefined mounts nothing (no EFS). */
  readonly modelsDir: string | undefined;
  /**
   * Host folder mounted read-write at the mount path itself (the loader writes models there); its owner
   * should be the access point's uid/gid, as EFS gives.
   */
  readonly mountDir?: string;
  readonly memoryMb?: number;
  readonly timeoutS?: number;
  readonly ephemeralStorageMb?: number;
  /** Extra or overriding environment (SD_MODEL, limits, …). */
  readonly environment?: Record<string, string>;
  readonly user?: string;
  readonly image?: string;
}

export class LambdaContainer extends GenericContainer {
  constructor(options: LambdaContainerOptions) {
    super(options.image ?? FUNCTION_IMAGE);
    const memoryMb = options.memoryMb ?? DEFAULT_CONFIG.memoryMb;
    const timeoutS = options.timeoutS ?? DEFAULT_CONFIG.timeoutS;
    const storage = options.ephemeralStorageMb ?? DEFAULT_CONFIG.ephemeralStorageMb;
    const { limits } = composeEnv(
      { memoryMb, timeoutS, ephemeralStorageMb: storage },
      availableParallelism(),
    );
    this.hostConfig.ReadonlyRootfs = true;
    this.hostConfig.MemorySwap = memoryMb * 1024 * 1024;
    this.withExposedPorts(8080)
      .withUser(options.user ?? "993:990")
      .withTmpFs({ "/tmp": `rw,exec,mode=1777,size=${storage}m` })
      .withResourcesQuota({ memory: memoryMb / 1024, cpu: limits.cpus })
      .withEnvironment({ ...lambdaEnvironment(memoryMb, timeoutS), ...options.environment })
      .withWaitStrategy(Wait.forListeningPorts())
      .withStartupTimeout(60_000);
    // the EFS stand-in: the access point's root with its owner and mode (sd-lambda.config.ts), models below
    const efs = loadDeployConfig().efs;
    if (options.mountDir)
      this.withBindMounts([{ source: options.mountDir, target: efs.mountPath, mode: "rw" }]);
    else if (options.modelsDir) {
      this.withTmpFs({
        [efs.mountPath]: `rw,uid=${efs.uid},gid=${efs.gid},mode=${efs.rootPermissions},size=16m`,
      });
      this.withBindMounts([{ source: options.modelsDir, target: `${efs.mountPath}/models`, mode: "ro" }]);
    }
  }
}

/**
 * The function's environment as Lambda sets it (reserved variables, HOME of sbx_user1051, which does
 * not exist) plus MNT_DIR: the one definition the compose service (via .cache/function.env) and the
 * test containers share.
 */
export function lambdaEnvironment(
  memoryMb: number,
  timeoutS: number,
  region = process.env.AWS_REGION || "us-east-1",
): Record<string, string> {
  return {
    AWS_LAMBDA_FUNCTION_TIMEOUT: String(timeoutS),
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_NAME: "function",
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: "/aws/lambda/function",
    AWS_LAMBDA_LOG_STREAM_NAME: "2026/01/01/[$LATEST]00000000000000000000000000000000",
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x",
    HOME: "/home/sbx_user1051",
    TZ: ":UTC",
    MNT_DIR: loadDeployConfig().efs.mountPath,
  };
}

/** The RIE's invoke URL of a started container. */
export function invokeUrl(container: StartedTestContainer): string {
  return `http://${container.getHost()}:${container.getMappedPort(8080)}/2015-03-31/functions/function/invocations`;
}
