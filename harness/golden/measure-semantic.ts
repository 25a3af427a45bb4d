/**
 * The semantic checks' numbers on tiny-shapes, in-process (the emulator gives the same bytes):
 *   node harness/golden/measure-semantic.ts
 * Prints, per guidance and negative prompt, how many grid pictures show the prompt's shape and
 * background colours and their mean distance from the prompt; docs and test limits quote it.
 */
import type { GoldenCase } from "./cases.ts";
import { type GridPrompt, type Looked, lookAtGrid, mean, shapesPalette } from "./semantic-grid.ts";
import { localTarget } from "./targets.ts";

const target = localTarget({ threads: 2 });
const shapes = { model: "tiny-shapes", event: "direct" } as GoldenCase;
const render = async (body: Record<string, unknown>) => (await target.run(shapes, body)).image;
const palette = shapesPalette();
const summary = (label: string, rows: Looked[]) =>
  `${label.padEnd(44)} shape ${rows.filter((r) => r.seen.shape === r.colour).length}/${rows.length}, background ${
    rows.filter((r) => r.seen.background === r.background).length
  }/${rows.length}, mean distance ${mean(rows.map((r) => r.distance)).toFixed(1)}`;
const other = (p: GridPrompt) => (p.background === "black" ? "white" : "black");
for (const seed of [1, 2]) {
  for (const guidance of [1, 3, 7.5]) {
    const rows = await lookAtGrid(render, palette, { guidance, seed });
    process.stdout.write(`${summary(`seed ${seed}, guidance ${guidance}`, rows)}\n`);
    for (const r of rows)
      process.stdout.write(
        `   ${r.prompt.padEnd(40)} saw ${r.seen.shape} on ${r.seen.background} (${r.seen.shapePixels} px)\n`,
      );
  }
  // the model's own guidance (its sd-lambda.json) with negative prompts
  const self = await lookAtGrid(render, palette, { guidance: 3, seed, negative: (p) => p.prompt });
  process.stdout.write(`${summary(`seed ${seed}, 3, negative = the prompt`, self)}\n`);
  const away = await lookAtGrid(render, palette, {
    guidance: 3,
    seed,
    negative: (p) => `a ${p.colour} ${p.shape} on a ${other(p)} background`,
  });
  process.stdout.write(`${summary(`seed ${seed}, 3, negative = other background`, away)}\n`);
}
await target.close();
