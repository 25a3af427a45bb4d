/**
 * The semantic checks' prompt grid and measurements on tiny-shapes, shared by the emulator test and
 * `make calibrate-golden`-style local runs: every shape colour on every background (the shape cycling), a
 * picture per prompt, what it shows (semantic.ts) and how far that is from the prompt.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { ROOT } from "../emulator/stack.ts";
import { captionOf, classify, type Palette, promptDistance, type Seen } from "./semantic.ts";

export const SHAPES_MODEL_DIR = join(ROOT, "fixtures/families/tiny-shapes");

export function shapesPalette(): Palette {
  return JSON.parse(readFileSync(join(SHAPES_MODEL_DIR, "training/dataset.json"), "utf8")) as Palette;
}

export interface GridPrompt {
  readonly colour: string;
  readonly shape: string;
  readonly background: string;
  readonly prompt: string;
}

export function promptGrid(palette: Palette): GridPrompt[] {
  const out: GridPrompt[] = [];
  for (const colour of Object.keys(palette.shape_colours))
    for (const background of Object.keys(palette.backgrounds)) {
      const shape = palette.shapes[out.length % palette.shapes.length] as string;
      out.push({ colour, shape, background, prompt: captionOf(colour, shape, background) });
    }
  return out;
}

/** A request body → the picture's encoded bytes (through whichever target). */
export type Render = (body: Record<string, unknown>) => Promise<Buffer>;

export interface Looked extends GridPrompt {
  readonly seen: Seen;
  readonly distance: number;
}

export async function look(bytes: Buffer, palette: Palette): Promise<Seen> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return classify(new Uint8Array(data), info.width, info.height, 3, palette);
}

/** Every grid prompt at one guidance (and optional negative prompt), PNDM 20 steps, a fixed seed. */
export async function lookAtGrid(
  render: Render,
  palette: Palette,
  options: { guidance: number; seed: number; negative?: (p: GridPrompt) => string },
): Promise<Looked[]> {
  const out: Looked[] = [];
  for (const p of promptGrid(palette)) {
    const body = {
      prompt: p.prompt,
      seed: options.seed,
      num_inference_steps: 20,
      guidance_scale: options.guidance,
      scheduler: "pndm",
      ...(options.negative ? { negative_prompt: options.negative(p) } : {}),
    };
    const seen = await look(await render(body), palette);
    out.push({ ...p, seen, distance: promptDistance(seen, p.colour, p.background, palette) });
  }
  return out;
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
