// `sd-lambda models optimize` and the function's use of what it saves: each part opens from the graph
// saved for this host and draws the same picture as the export; a stale, broken or unsavable graph never
// stops a load — the part opens from its export and the model's notes say what to do.
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { filesToStage } from "../../harness/deploy/models-upload.ts";
import { type GraphMode, loadModel, releaseModel } from "../../runtime/engine/model.ts";
import { hostGraphKey, optimizedGraphPath } from "../../runtime/engine/optimized-graph.ts";
import { render } from "../../runtime/render.ts";
import { DEFAULT_LIMITS, parseRequest } from "../../runtime/request.ts";
import { runCli } from "../helpers/cli.ts";

const TINY = "fixtures/models/tiny-sd";
const PARTS = ["text_encoder", "unet", "vae_decoder", "vae_encoder"];
const REQUEST = parseRequest({ prompt: "a red circle", seed: 3, num_inference_steps: 3 }, DEFAULT_LIMITS);

function copyOfTiny(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "graphs-")), "tiny-sd");
  cpSync(TINY, dir, { recursive: true });
  return dir;
}

async function draw(dir: string, graphs: GraphMode) {
  const model = await loadModel(dir, { threads: 1, graphs });
  try {
    const r = await render(model, REQUEST);
    return {
      sha256: createHash("sha256").update(r.bytes).digest("hex"),
      parts: [...model.optimizedParts].sort(),
      notes: model.notes,
    };
  } finally {
    await releaseModel(model);
  }
}

async function optimize(dir: string) {
  const r = await runCli(["models", "optimize", dir, "--threads", "1", "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { key: string; parts: { file: string; action: string; path: string }[] };
}

describe("saved optimised graphs", () => {
  it("models optimize saves one per part for this host; the function opens them and draws the same picture", async () => {
    const dir = copyOfTiny();
    const exported = await draw(dir, "use");
    expect(exported.parts).toEqual([]);
    expect((await runCli(["models", "check", dir])).stdout).toContain(
      "saved optimised graphs for this machine: none (sd-lambda models optimize DIR makes them",
    );

    const report = await optimize(dir);
    const key = await hostGraphKey();
    expect(report.key).toBe(key);
    expect(report.parts.map((p) => [p.file, p.action, p.path])).toEqual(
      PARTS.map((p) => [`${p}/model.onnx`, "saved", optimizedGraphPath(join(dir, p, "model.onnx"), key)]),
    );
    const saved = await draw(dir, "use");
    expect(saved).toEqual({ ...exported, parts: PARTS });
    const check = await runCli(["models", "check", dir]);
    expect(check.stdout.split("\n")).toContain(
      "saved optimised graphs for this machine: text_encoder, unet, vae_decoder, vae_encoder",
    );
    // off ignores them; a second optimize finds them current and saves nothing
    expect((await draw(dir, "off")).parts).toEqual([]);
    expect((await optimize(dir)).parts.map((p) => p.action)).toEqual(PARTS.map(() => "current"));
  });

  it("the UNet's saved graph packs its weights when the default request runs it more than once", async () => {
    const packing = async (source: string, defaultSteps?: number) => {
      const dir = join(mkdtempSync(join(tmpdir(), "graphs-")), "model");
      cpSync(source, dir, { recursive: true });
      await optimize(dir);
      const model = await loadModel(dir, { threads: 1, defaultSteps });
      try {
        return [model.family.name, model.unet.tuning.prepacking ?? true, model.vaeDecoder.tuning.prepacking];
      } finally {
        await releaseModel(model);
      }
    };
    // SD 1.x: 32 steps by default — packed once at load rather than at every step
    expect(await packing(TINY)).toEqual(["sd1", true, false]);
    // SD-Turbo: one step — its weights stay mapped, so its cold start does not pay for the packing
    expect(await packing("fixtures/families/tiny-sd-turbo")).toEqual(["sd-turbo", false, false]);
    // SD_DEFAULT_STEPS decides too
    expect(await packing(TINY, 1)).toEqual(["sd1", false, false]);
  });

  it("a graph saved from other files is stale: that part opens from its export, and the note says to optimise again", async () => {
    const dir = copyOfTiny();
    const exported = await draw(dir, "off");
    await optimize(dir);
    utimesSync(join(dir, "unet/model.onnx"), new Date(), new Date(Date.now() + 60_000)); // a new export
    const r = await draw(dir, "use");
    expect(r.parts).toEqual(PARTS.filter((p) => p !== "unet"));
    expect(r.sha256).toBe(exported.sha256);
    expect(r.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${join(dir, "unet/optimized")}/[^ ]+/model.onnx is stale: made from other files .* — run sd-lambda models optimize again$`,
        ),
      ),
    ]);
    expect((await optimize(dir)).parts.find((p) => p.file === "unet/model.onnx")?.action).toBe("saved");
    expect((await draw(dir, "use")).parts).toEqual(PARTS);
  });

  it("a saved graph that does not load is passed over with a note naming it and the fix", async () => {
    const dir = copyOfTiny();
    const exported = await draw(dir, "off");
    const { parts } = await optimize(dir);
    const broken = parts.find((p) => p.file === "text_encoder/model.onnx")?.path as string;
    writeFileSync(broken, "not a graph");
    const r = await draw(dir, "use");
    expect(r.parts).toEqual(PARTS.filter((p) => p !== "text_encoder"));
    expect(r.sha256).toBe(exported.sha256);
    expect(r.notes).toEqual([
      `${broken} did not load (${r.notes[0]?.split("did not load (")[1]?.split("), so")[0]}), so ${join(dir, "text_encoder/model.onnx")} was opened instead — delete ${dirname(broken)} and run sd-lambda models optimize again`,
    ]);
  });

  it("SD_OPTIMIZED_GRAPHS=save saves the missing graphs at load; where it cannot write, the load goes on", async () => {
    const dir = copyOfTiny();
    const exported = await draw(dir, "off");
    writeFileSync(join(dir, "unet/optimized"), "a file where the folder would go");
    const r = await draw(dir, "save");
    expect(r.parts).toEqual(PARTS.filter((p) => p !== "unet"));
    expect(r.sha256).toBe(exported.sha256);
    expect(r.notes).toEqual([
      expect.stringMatching(
        new RegExp(
          `^could not save an optimised graph at ${join(dir, "unet/optimized")}/.+/model.onnx as uid \\d+: .*ENOTDIR.* — make the model folder writable for that user, or set SD_OPTIMIZED_GRAPHS=use$`,
        ),
      ),
    ]);
    // the next load finds the saved ones and saves nothing new
    expect((await draw(dir, "use")).parts).toEqual(PARTS.filter((p) => p !== "unet"));
  });

  it("models upload leaves them out (they fit this machine's CPU, not Lambda's) and says so", async () => {
    const dir = copyOfTiny();
    await optimize(dir);
    const skipped: string[] = [];
    const staged = [...filesToStage(dir, (path) => skipped.push(path))];
    expect(skipped.sort()).toEqual(PARTS.map((p) => join(dir, p, "optimized")));
    expect(staged.some((p) => p.includes("/optimized/"))).toBe(false);
    expect(staged).toContain(join(dir, "unet/model.onnx"));
    expect(readFileSync(join(dir, "model_index.json"), "utf8")).toContain("StableDiffusionPipeline");
  });
});
