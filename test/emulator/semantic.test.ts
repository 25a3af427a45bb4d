// What the trained tiny-shapes model draws, through the function image under the real RIE: over every
// shape colour on every background the picture's shape and background colours (harness/golden/semantic.ts,
// a deterministic function of the pixels) match the prompt; guidance measurably changes the picture (the
// model's own 3 a little, SD's 7.5 far past the palette); and the negative prompt does what the README
// says: it replaces the empty unconditional prompt, so the prompt as its own negative gives the unguided
// picture, and naming the other background pushes the picture's background away from it. These catch text-conditioning and guidance bugs
// a golden of coloured noise cannot. Numbers: `node harness/golden/measure-semantic.ts`.

import { join } from "node:path";
import type { StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { invokeUrl, LambdaContainer } from "../../harness/emulator/lambda-container.ts";
import { ROOT } from "../../harness/emulator/stack.ts";
import { emulatorTarget, type GoldenCase, type Target } from "../../harness/golden/index.ts";
import {
  type GridPrompt,
  type Looked,
  lookAtGrid,
  mean,
  type Render,
  shapesPalette,
} from "../../harness/golden/semantic-grid.ts";

const palette = shapesPalette();
let container: StartedTestContainer;
let target: Target;
const shapes = { model: "tiny-shapes", event: "direct" } as GoldenCase;
const render: Render = async (body) => (await target.run(shapes, body)).image;

beforeAll(async () => {
  container = await new LambdaContainer({
    modelsDir: join(ROOT, "fixtures/families"),
    environment: { SD_MODEL: "tiny-shapes" },
  }).start();
  target = emulatorTarget({ endpoint: invokeUrl(container) });
});
afterAll(async () => {
  await container?.stop();
});

// Measured on this model (`node harness/golden/measure-semantic.ts`, PNDM 20 steps, 12 prompts), seeds 1 / 2:
// guidance 1 (the conditional branch alone): shape colour 12 / 12, background 12 / 12, mean distance from
// the prompt's colours 27.6 / 27.7; guidance 3 (the model's own default, its sd-lambda.json): 11 / 11 shapes,
// 12 / 12 backgrounds, 40.3 / 39.4; guidance 7.5 (SD's usual): 6 / 8 shapes, 9 / 10 backgrounds, 196.7 / 156.1.
// The limits below leave one picture of margin for another CPU's last-bit differences.
describe("tiny-shapes draws its prompt", () => {
  // the plain grid at one guidance, seed 1, rendered once and shared by the tests that look at it
  const plainGrids = new Map<number, Promise<Looked[]>>();
  const plainGrid = (guidance: number) => {
    if (!plainGrids.has(guidance))
      plainGrids.set(guidance, lookAtGrid(render, palette, { guidance, seed: 1 }));
    return plainGrids.get(guidance) as Promise<Looked[]>;
  };
  const right = (rows: Looked[]) => ({
    shapes: rows.filter((r) => r.seen.shape === r.colour).length,
    backgrounds: rows.filter((r) => r.seen.background === r.background).length,
  });

  test("the grid: shape and background colours match the prompt, unguided and at the model's guidance 3", async () => {
    for (const guidance of [1, 3]) {
      const got = right(await plainGrid(guidance));
      expect(got.shapes, `guidance ${guidance}`).toBeGreaterThanOrEqual(10);
      expect(got.backgrounds, `guidance ${guidance}`).toBeGreaterThanOrEqual(11);
    }
  });

  test("guidance measurably changes the picture: 7.5 pushes the colours far past the palette, 3 a little", async () => {
    const distance = async (guidance: number) => mean((await plainGrid(guidance)).map((r) => r.distance));
    const [d1, d3, d75] = [await distance(1), await distance(3), await distance(7.5)];
    expect(d3).toBeGreaterThan(d1);
    expect(d75).toBeGreaterThan(2 * d3);
  });

  test("the prompt as its own negative gives the unguided picture", async () => {
    const prompt = "a red circle on a white background";
    const body = { prompt, seed: 1, num_inference_steps: 20, scheduler: "pndm" };
    const self = await render({ ...body, guidance_scale: 3, negative_prompt: prompt });
    const unguided = await render({ ...body, guidance_scale: 1 });
    const sharp = (await import("sharp")).default;
    const a = await sharp(self).raw().toBuffer();
    const b = await sharp(unguided).raw().toBuffer();
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
    expect(max).toBeLessThanOrEqual(1);
  });

  test("naming the other background as the negative pushes the background away from it", async () => {
    const other = (p: GridPrompt) => (p.background === "black" ? "white" : "black");
    const plain = await plainGrid(3);
    const away = await lookAtGrid(render, palette, {
      guidance: 3,
      seed: 1,
      negative: (p) => `a ${p.colour} ${p.shape} on a ${other(p)} background`,
    });
    const fromOther = (rows: typeof plain) =>
      mean(
        rows.map((r) => {
          const o = palette.backgrounds[other(r)] as readonly [number, number, number];
          const bg = r.seen.backgroundRgb;
          return Math.hypot(bg[0] - o[0], bg[1] - o[1], bg[2] - o[2]);
        }),
      );
    expect(fromOther(away)).toBeGreaterThan(fromOther(plain));
    expect(right(away).backgrounds).toBeGreaterThanOrEqual(right(plain).backgrounds);
  });
});
