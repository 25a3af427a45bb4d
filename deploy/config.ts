/**
 * The one deploy configuration: its schema (Lambda's own limits), its defaults, and what the function's
 * environment is derived from it. `sd-lambda.config.ts` at the repository root holds the values people
 * change; docker-compose (through harness/emulator/stack.ts), the test containers and the CDK stack all
 * read the result of `loadDeployConfig()`, so what is deployed is what the emulator tested.
 */
import { z } from "zod";
import projectConfig from "../sd-lambda.config.ts";

/** Lambda's limits (AWS documentation, "Lambda quotas"). */
export const LAMBDA_LIMITS = {
  memoryMb: { min: 128, max: 10240 },
  timeoutS: { min: 1, max: 900 },
  ephemeralStorageMb: { min: 512, max: 10240 },
} as const;

/** Lambda's rule for a file system's local mount path. */
export const MOUNT_PATH_PATTERN = /^\/mnt\/[a-zA-Z0-9-_.]+$/;

/** Where a model baked into the image lives (MNT_DIR for model location `image`). */
export const IMAGE_MODELS_ROOT = "/opt/sd-lambda";

/** The loader's handler inside the same image (the stack and the emulator both start it by this). */
export const LOADER_HANDLER = "dist/runtime/loader/handler.handler";

/** Variables the function's environment may not set: Lambda reserves them, or this config derives them. */
const RESERVED_ENV = /^(AWS_|LAMBDA_|_HANDLER$|_X_AMZN_|TZ$|MNT_DIR$|SD_MODEL$)/;

/** CloudWatch Logs' allowed retention periods, in days. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653];

const int = (name: string, min: number, max: number) =>
  z
    .number()
    .int(`${name} must be a whole number`)
    .min(min, `${name} must be from ${min} to ${max}`)
    .max(max, `${name} must be from ${min} to ${max}`);

export const deployConfigSchema = z
  .object({
    /** CloudFormation stack name; also prefixes the function names. */
    stackName: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, "stackName must be letters, digits and hyphens")
      .default("sd-lambda"),
    function: z
      .object({
        memoryMb: int("function.memoryMb", LAMBDA_LIMITS.memoryMb.min, LAMBDA_LIMITS.memoryMb.max).default(
          10240,
        ),
        timeoutS: int("function.timeoutS", LAMBDA_LIMITS.timeoutS.min, LAMBDA_LIMITS.timeoutS.max).default(
          300,
        ),
        ephemeralStorageMb: int(
          "function.ephemeralStorageMb",
          LAMBDA_LIMITS.ephemeralStorageMb.min,
          LAMBDA_LIMITS.ephemeralStorageMb.max,
        ).default(512),
        architecture: z.enum(["x86_64", "arm64"]).default("x86_64"),
        /** Extra variables (SD_MAX_STEPS, SD_THREADS, …); reserved names are refused. */
        environment: z
          .record(z.string(), z.string())
          .default({})
          .superRefine((env, ctx) => {
            for (const key of Object.keys(env))
              if (RESERVED_ENV.test(key))
                ctx.addIssue({
                  code: "custom",
                  path: [key],
                  message: `function.environment.${key} is reserved (Lambda sets AWS_*/LAMBDA_*/TZ; MNT_DIR and SD_MODEL come from efs.mountPath and model.name)`,
                });
          }),
        /** Unset: the account's unreserved pool. 0 stops the function. */
        reservedConcurrency: int("function.reservedConcurrency", 0, 1000).optional(),
        logRetentionDays: z
          .number()
          .refine((d) => LOG_RETENTION_DAYS.includes(d), {
            message: `function.logRetentionDays must be one of ${LOG_RETENTION_DAYS.join(", ")}`,
          })
          .default(30),
      })
      .prefault({}),
    efs: z
      .object({
        mountPath: z
          .string()
          .regex(MOUNT_PATH_PATTERN, "efs.mountPath must match ^/mnt/[a-zA-Z0-9-_.]+$ (Lambda's rule)")
          .default("/mnt/fs"),
        /** The access point's POSIX user: every file access on EFS is made as this uid/gid. */
        uid: int("efs.uid", 0, 4294967295).default(993),
        gid: int("efs.gid", 0, 4294967295).default(990),
        /** Octal mode of the access point's root directory when EFS creates it. */
        rootPermissions: z
          .string()
          .regex(/^[0-7]{3,4}$/, "efs.rootPermissions must be an octal mode like 750")
          .default("750"),
      })
      .prefault({}),
    model: z
      .object({
        /** The folder under <mount>/models/ (SD_MODEL); unset: the only folder there. */
        name: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, "model.name must be a folder name")
          .optional(),
        /** `efs`: on the file system (the article's way); `image`: baked into the container image. */
        location: z.enum(["efs", "image"]).default("efs"),
      })
      .prefault({}),
    url: z
      .object({
        /** AWS_IAM: callers sign with SigV4. NONE makes the function public: only when asked. */
        authType: z.enum(["AWS_IAM", "NONE"]).default("AWS_IAM"),
        cors: z
          .object({
            allowOrigins: z.array(z.string()).default([]),
            allowMethods: z.array(z.enum(["GET", "POST", "*"])).default(["POST"]),
            allowHeaders: z.array(z.string()).default(["content-type", "accept"]),
          })
          .optional(),
      })
      .prefault({}),
    vpc: z
      .object({
        /** Unset: a new VPC with isolated subnets and an S3 gateway endpoint. */
        existingVpcId: z
          .string()
          .regex(/^vpc-[0-9a-f]+$/, "vpc.existingVpcId must look like vpc-0123abcd")
          .optional(),
      })
      .prefault({}),
  })
  .strict()
  .refine((c) => c.model.location === "efs" || c.model.name !== undefined, {
    message: 'model.name must be set when model.location is "image" (the folder baked into the image)',
    path: ["model", "name"],
  });

export type DeployConfigInput = z.input<typeof deployConfigSchema>;
export type DeployConfig = z.output<typeof deployConfigSchema>;

export class DeployConfigError extends Error {
  readonly code = "DEPLOY_CONFIG";
}

/** Validates a config (from sd-lambda.config.ts or a test); every problem in one message. */
export function parseDeployConfig(input: unknown, source = "sd-lambda.config.ts"): DeployConfig {
  const result = deployConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const where = issue.path.join(".");
    const value = valueAt(input, issue.path);
    const shown = value === undefined ? "" : ` (got ${JSON.stringify(value).slice(0, 60)})`;
    return issue.message.includes(where) || where === ""
      ? `${issue.message}${shown}`
      : `${where}: ${issue.message}${shown}`;
  });
  throw new DeployConfigError(`[sd-lambda] ${source}: ${problems.join("; ")}`);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (at === null || typeof at !== "object") return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** Where the function finds its models: the EFS mount, or the folder baked into the image. */
export function modelsRoot(config: DeployConfig): string {
  return config.model.location === "image" ? IMAGE_MODELS_ROOT : config.efs.mountPath;
}

/** The function's own variables (beside Lambda's reserved ones): the same on Lambda and in the emulator. */
export function functionEnvironment(config: DeployConfig): Record<string, string> {
  return {
    ...config.function.environment,
    MNT_DIR: modelsRoot(config),
    ...(config.model.name ? { SD_MODEL: config.model.name } : {}),
  };
}

/** Docker/CDK platform name of an architecture. */
export function dockerPlatform(architecture: DeployConfig["function"]["architecture"]): string {
  return architecture === "arm64" ? "linux/arm64" : "linux/amd64";
}

/** npm's --cpu of an architecture (stage-deps.sh, the Dockerfile's NPM_CPU). */
export function npmCpu(architecture: DeployConfig["function"]["architecture"]): "x64" | "arm64" {
  return architecture === "arm64" ? "arm64" : "x64";
}

/** The configuration in sd-lambda.config.ts at the repository root, validated. */
export function loadDeployConfig(): DeployConfig {
  return parseDeployConfig(projectConfig);
}
