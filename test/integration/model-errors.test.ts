// A model folder that is missing, incomplete or malformed is reported with its path and what was expected.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { loadModel, resolveModelDir } from "../../runtime/engine/model.ts";

const MODEL = new URL("../../fixtures/models/tiny-sd", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "sd-model-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = join(work, name);
  cpSync(MODEL, dir, { recursive: true });
  return dir;
}

describe("model folder errors", () => {
  test("an ONNX file that is not a model names the file", async () => {
    const dir = copy("corrupt");
    writeFileSync(join(dir, "unet/model.onnx"), "not onnx");
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: expect.stringMatching(
        new RegExp(`^${join(dir, "unet/model.onnx")} is not a loadable ONNX model: `),
      ),
    });
  });

  test("malformed JSON names the file and the parse error", async () => {
    const dir = copy("bad-json");
    writeFileSync(join(dir, "scheduler/scheduler_config.json"), "{");
    await expect(loadModel(dir, { threads: 1 })).rejects.toMatchObject({
      code: "MODEL_INVALID",
      message: `${join(dir, "scheduler/scheduler_config.json")} is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`,
    });
  });

  test("no models folder under the mount says where to put one", async () => {
    await expect(resolveModelDir(join(work, "empty-mount"), undefined)).rejects.toMatchObject({
      code: "MODEL_NOT_FOUND",
      message: `no models folder at ${join(work, "empty-mount/models")} — mount the EFS file system at ${join(work, "empty-mount")} and put each model in ${join(work, "empty-mount/models")}/<name>/`,
    });
  });

  test("several models and no SD_MODEL lists them", async () => {
    const mount = join(work, "mount");
    mkdirSync(join(mount, "models/b"), { recursive: true });
    mkdirSync(join(mount, "models/a"), { recursive: true });
    await expect(resolveModelDir(mount, undefined)).rejects.toMatchObject({
      message: `${join(mount, "models")} holds 2 models (a, b) — set SD_MODEL to one of them`,
    });
    expect(await resolveModelDir(mount, "b")).toBe(join(mount, "models/b"));
  });
});
