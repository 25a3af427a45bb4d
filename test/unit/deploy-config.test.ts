import { describe, expect, it } from "vitest";
import { functionEnvironment, loadDeployConfig, parseDeployConfig } from "../../deploy/config.ts";

describe("the deploy configuration", () => {
  it("fills Lambda-sized defaults and keeps URL auth on AWS_IAM unless asked", () => {
    const config = parseDeployConfig({});
    expect(config.function).toEqual({
      memoryMb: 10240,
      timeoutS: 300,
      ephemeralStorageMb: 512,
      architecture: "x86_64",
      environment: {},
      logRetentionDays: 30,
    });
    expect(config.efs).toEqual({ mountPath: "/mnt/fs", uid: 993, gid: 990, rootPermissions: "750" });
    expect(config.url.authType).toBe("AWS_IAM");
    expect(functionEnvironment(config)).toEqual({ MNT_DIR: "/mnt/fs" });
  });

  it("sd-lambda.config.ts is valid", () => {
    expect(loadDeployConfig().stackName).toBe("sd-lambda");
  });

  it("refuses what Lambda would refuse, naming each field and value in one message", () => {
    expect(() =>
      parseDeployConfig({
        function: { memoryMb: 12288, timeoutS: 0, architecture: "ppc64" },
        efs: { mountPath: "/efs/models" },
      }),
    ).toThrow(
      '[sd-lambda] sd-lambda.config.ts: function.memoryMb must be from 128 to 10240 (got 12288); function.timeoutS must be from 1 to 900 (got 0); function.architecture: Invalid option: expected one of "x86_64"|"arm64" (got "ppc64"); efs.mountPath must match ^/mnt/[a-zA-Z0-9-_.]+$ (Lambda\'s rule) (got "/efs/models")',
    );
  });

  it("refuses reserved environment variables and an image location without a model name", () => {
    expect(() =>
      parseDeployConfig({ function: { environment: { AWS_REGION: "x", MNT_DIR: "/mnt/x" } } }),
    ).toThrow(
      '[sd-lambda] sd-lambda.config.ts: function.environment.AWS_REGION is reserved (Lambda sets AWS_*/LAMBDA_*/TZ; MNT_DIR and SD_MODEL come from efs.mountPath and model.name) (got "x"); function.environment.MNT_DIR is reserved (Lambda sets AWS_*/LAMBDA_*/TZ; MNT_DIR and SD_MODEL come from efs.mountPath and model.name) (got "/mnt/x")',
    );
    expect(() => parseDeployConfig({ model: { location: "image" } })).toThrow(
      '[sd-lambda] sd-lambda.config.ts: model.name must be set when model.location is "image" (the folder baked into the image)',
    );
  });

  it("refuses unknown keys so a typo is not silently ignored", () => {
    expect(() => parseDeployConfig({ memoryMb: 2048 })).toThrow(
      '[sd-lambda] sd-lambda.config.ts: Unrecognized key: "memoryMb" (got {"memoryMb":2048})',
    );
  });
});
