/**
 * What a person sees in a tiny-shapes picture, measured on pixels: the background colour (the mean of a
 * 4-pixel frame) and the shape colour (the mean of the pixels far from the background), each named by the
 * nearest colour of the training palette (fixtures/families/tiny-shapes/training/dataset.json). The same
 * function as `classify` in fixtures/generate/train_shapes.py, which scores the model after training.
 */

export type Rgb = readonly [number, number, number];

export interface Palette {
  readonly shape_colours: Readonly<Record<string, Rgb>>;
  readonly backgrounds: Readonly<Record<string, Rgb>>;
  readonly shapes: readonly string[];
}

export interface Seen {
  readonly background: string;
  readonly backgroundRgb: Rgb;
  /** null when fewer than MIN_SHAPE_PIXELS pixels stand out from the background. */
  readonly shape: string | null;
  readonly shapeRgb: Rgb | null;
  readonly shapePixels: number;
}

const FRAME = 4;
/** A pixel this far (RGB distance) from the background's mean belongs to the shape. */
const SHAPE_DISTANCE = 80;
const MIN_SHAPE_PIXELS = 40;

/** Classify RGB or RGBA pixels (`channels` per pixel, row-major). */
export function classify(
  data: Uint8Array,
  width: number,
  height: number,
  channels: number,
  palette: Palette,
): Seen {
  const at = (x: number, y: number): Rgb => {
    const o = (y * width + x) * channels;
    return [data[o] as number, data[o + 1] as number, data[o + 2] as number];
  };
  const sum = [0, 0, 0];
  let n = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      if (y >= FRAME && y < height - FRAME && x >= FRAME && x < width - FRAME) continue;
      const p = at(x, y);
      for (let c = 0; c < 3; c++) sum[c] = (sum[c] as number) + (p[c] as number);
      n++;
    }
  const bg: Rgb = [(sum[0] as number) / n, (sum[1] as number) / n, (sum[2] as number) / n];
  const shapeSum = [0, 0, 0];
  let count = 0;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const p = at(x, y);
      if (distance(p, bg) <= SHAPE_DISTANCE) continue;
      for (let c = 0; c < 3; c++) shapeSum[c] = (shapeSum[c] as number) + (p[c] as number);
      count++;
    }
  const shapeRgb: Rgb | null =
    count >= MIN_SHAPE_PIXELS
      ? [(shapeSum[0] as number) / count, (shapeSum[1] as number) / count, (shapeSum[2] as number) / count]
      : null;
  return {
    background: nearest(bg, palette.backgrounds),
    backgroundRgb: bg,
    shape: shapeRgb ? nearest(shapeRgb, palette.shape_colours) : null,
    shapeRgb,
    shapePixels: count,
  };
}

export function distance(a: Rgb, b: Rgb): number {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

function nearest(rgb: Rgb, names: Readonly<Record<string, Rgb>>): string {
  let best = "";
  let bestD = Number.POSITIVE_INFINITY;
  for (const [name, ref] of Object.entries(names)) {
    const d = distance(rgb, ref);
    if (d < bestD) [best, bestD] = [name, d];
  }
  return best;
}

/** "a red circle on a white background" → its words, for a prompt built from the training captions. */
export function captionOf(colour: string, shape: string, background: string): string {
  return `a ${colour} ${shape} on a ${background} background`;
}

/**
 * How far a picture is from its prompt: the shape's distance to the prompt's shape colour plus the
 * background's distance to the prompt's background colour (a missing shape counts as the background).
 */
export function promptDistance(seen: Seen, colour: string, background: string, palette: Palette): number {
  const shape = seen.shapeRgb ?? seen.backgroundRgb;
  return (
    distance(shape, palette.shape_colours[colour] as Rgb) +
    distance(seen.backgroundRgb, palette.backgrounds[background] as Rgb)
  );
}
