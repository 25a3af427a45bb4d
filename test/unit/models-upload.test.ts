import { describe, expect, it } from "vitest";
import { parseS3Url } from "../../harness/deploy/models-upload.ts";
import { runCli } from "../helpers/cli.ts";

describe("sd-lambda models upload", () => {
  it("reads s3://bucket/prefix as the loader's source, a path as a folder to stage", () => {
    expect(parseS3Url("s3://my-models/sd15")).toEqual({ bucket: "my-models", prefix: "sd15/" });
    expect(parseS3Url("s3://my-models/exports/sd15/")).toEqual({
      bucket: "my-models",
      prefix: "exports/sd15/",
    });
    expect(parseS3Url("s3://my-models")).toEqual({ bucket: "my-models", prefix: "" });
    expect(parseS3Url("fixtures/models/tiny-sd")).toBeUndefined();
  });

  it("needs the subcommand, --from and --model", async () => {
    expect((await runCli(["models", "download"])).stderr).toMatch(
      /^sd-lambda models: unknown models command "download"\nusage: sd-lambda models upload /,
    );
    expect((await runCli(["models", "upload", "--from", "x"])).stderr).toMatch(
      /^sd-lambda models: --from and --model are required\nusage: sd-lambda models upload /,
    );
  });

  it("refuses a folder that is not a model before touching S3", async () => {
    const { code, stderr } = await runCli([
      "models",
      "upload",
      "--from",
      "fixtures/events",
      "--model",
      "x",
      "--region",
      "eu-west-1",
      "--loader",
      "l",
      "--bucket",
      "b",
    ]);
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        "sd-lambda models: [sd-lambda] fixtures/events is not a model folder (no model_index.json) — pass the folder of an optimum-cli ONNX export\n",
    });
  });
});
