// Preflight's model-files check on real folders: every file a model folder holds or references,
// external data named inside the ONNX protobuf included, judged as uid 993 / gid 990 would be, with
// the message the function itself gives (runtime/engine/model.ts).
import { chmodSync, cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import { modelFilesCheck, runPreflight } from "../../harness/preflight/index.ts";

const EXTERNAL = join(ROOT, "fixtures/preflight/external-data");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A copy of tiny-sd whose unet keeps its weights in external data, as full-size exports do. */
function modelWithExternalData(): string {
  const dir = mkdtempSync(join(tmpdir(), "sd-lambda-model-files-"));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const model = join(dir, "tiny-sd");
  cpSync(join(ROOT, "fixtures/models/tiny-sd"), model, { recursive: true });
  for (const name of ["model.onnx", "weights.onnx_data", "constant.onnx_data"])
    cpSync(join(EXTERNAL, name), join(model, "unet", name));
  return model;
}

const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;

describe("model files check", () => {
  test("passes when every file, external data included, is world-readable", () => {
    const model = modelWithExternalData();
    expect(modelFilesCheck(model)).toEqual({
      name: "model files",
      status: "pass",
      summary: `all 23 files and folders of ${model} (external data included) are readable by uid 993 gid 990`,
      details: [],
    });
  });

  test("an unreadable external-data file is named with uid, mode, owner and the fix", () => {
    const model = modelWithExternalData();
    chmodSync(join(model, "unet/weights.onnx_data"), 0o600);
    const check = modelFilesCheck(model);
    expect(check.status).toBe("fail");
    expect(check.details).toEqual([
      `cannot read ${model}/unet/weights.onnx_data as uid 993 gid 990: mode 0600 owner uid ${uid} gid ${gid} — make it world-readable (chmod o+r files, o+x folders) or set the EFS access point's POSIX user to uid ${uid} gid ${gid}, the owner`,
    ]);
  });

  test("an external-data file the protobuf names but the folder lacks", () => {
    const model = modelWithExternalData();
    rmSync(join(model, "unet/constant.onnx_data"));
    expect(modelFilesCheck(model).details).toEqual([
      `unet/model.onnx keeps its weights in constant.onnx_data, which is not in ${model}/unet — copy the whole export folder, external data included`,
    ]);
  });

  test("a folder uid 993 cannot enter", () => {
    const model = modelWithExternalData();
    chmodSync(join(model, "tokenizer"), 0o750);
    expect(modelFilesCheck(model).details).toEqual([
      `cannot enter the folder ${model}/tokenizer as uid 993 gid 990: mode 0750 owner uid ${uid} gid ${gid} — make it world-readable (chmod o+r files, o+x folders) or set the EFS access point's POSIX user to uid ${uid} gid ${gid}, the owner`,
    ]);
  });

  test("sd-lambda preflight --model runs it beside memory, and fails on it", async () => {
    const model = modelWithExternalData();
    chmodSync(join(model, "unet/weights.onnx_data"), 0o600);
    const report = await runPreflight({
      runtime: "nodejs24.x",
      memoryMb: 10240,
      source: { kind: "bundle", dirs: [{ from: join(ROOT, "runtime"), to: "/var/task/runtime" }] },
      modelDir: model,
    });
    expect(report.checks.map((c) => `${c.name} ${c.status}`)).toEqual([
      "glibc pass",
      "libstdc++ pass",
      "permissions pass",
      "model files fail",
      "memory pass",
    ]);
    expect(report.ok).toBe(false);
  });
});
