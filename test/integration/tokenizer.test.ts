// Token ids from @huggingface/tokenizers on the tiny model's tokenizer.json must equal transformers'
// CLIPTokenizer (padding="max_length", max_length=77, truncation=True) on every reference prompt, from
// either folder layout, and on the inputs where the JS library needs a correction.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, test } from "vitest";
import { ClipTokenizer, CORRECTIONS } from "../../runtime/engine/tokenizer.ts";

const tokenizerDir = new URL("../../fixtures/models/tiny-sd/tokenizer/", import.meta.url);
const read = (url: URL) => JSON.parse(readFileSync(url, "utf8"));
const references: { prompt: string; input_ids: number[] }[] = read(
  new URL("../../fixtures/reference/tokenizer.json", import.meta.url),
);
const tokenizer = new ClipTokenizer({
  tokenizerJson: read(new URL("tokenizer.json", tokenizerDir)),
  tokenizerConfig: read(new URL("tokenizer_config.json", tokenizerDir)),
});

describe("CLIP tokenizer parity with transformers", () => {
  test("the reference covers at least 200 prompts, long and empty ones included", () => {
    expect(references.length).toBeGreaterThanOrEqual(200);
    expect(references.some((r) => r.prompt === "")).toBe(true);
    expect(references.some((r) => tokenizer.encode(r.prompt).truncated)).toBe(true);
  });

  test.each(references.map((r, i) => [i, JSON.stringify(r.prompt).slice(0, 60), r] as const))(
    "prompt %i %s",
    (_i, _shown, reference) => {
      expect(tokenizer.encode(reference.prompt).ids).toEqual(reference.input_ids);
    },
  );
});

describe("tokenizer folder layouts", () => {
  const hub = new ClipTokenizer({
    vocab: read(new URL("vocab.json", tokenizerDir)),
    merges: readFileSync(new URL("merges.txt", tokenizerDir), "utf8"),
    tokenizerConfig: read(new URL("tokenizer_config.json", tokenizerDir)),
  });

  test("vocab.json + merges.txt (the Hub layout) gives the ids of tokenizer.json on every reference prompt", () => {
    const differing = references.filter((r) => hub.encode(r.prompt).ids.join() !== r.input_ids.join());
    expect(differing.map((r) => r.prompt)).toEqual([]);
  });

  test("a Hub layout without vocab.json and merges.txt is refused with what it needs", () => {
    expect(() => new ClipTokenizer({ tokenizerConfig: {} })).toThrow(
      "need tokenizer.json or vocab.json + merges.txt",
    );
  });
});

// transformers' ids for the prompts each correction is for, with tiny-sd's tokenizer.json and tiny-sd2's
// Hub layout (special tokens normalized, `!` pad); written by fixtures/generate/families.py.
const corrections: Record<string, { prompt: string; input_ids: Record<string, number[]> }[]> = read(
  new URL("../../fixtures/families/tokenizer-corrections.json", import.meta.url),
);
const sd2Dir = new URL("../../fixtures/families/tiny-sd2/tokenizer/", import.meta.url);
const layouts: Record<string, ClipTokenizer> = {
  "models/tiny-sd": tokenizer,
  "families/tiny-sd2": new ClipTokenizer({
    vocab: read(new URL("vocab.json", sd2Dir)),
    merges: readFileSync(new URL("merges.txt", sd2Dir), "utf8"),
    tokenizerConfig: {
      ...read(new URL("special_tokens_map.json", sd2Dir)),
      ...read(new URL("tokenizer_config.json", sd2Dir)),
    },
  }),
};
/** The library on tiny-sd's tokenizer.json as transformers saved it, uncorrected. */
const library = new Tokenizer(
  read(new URL("tokenizer.json", tokenizerDir)),
  read(new URL("tokenizer_config.json", tokenizerDir)),
);

describe("corrections to @huggingface/tokenizers, one test each", () => {
  test("the fixture has one group per correction", () => {
    expect(Object.keys(corrections)).toEqual(CORRECTIONS.map((c) => c.name));
  });

  test.each(CORRECTIONS.map((c) => [c.name] as const))("%s", (name) => {
    const rows = corrections[name] ?? [];
    let libraryDiffers = false;
    for (const row of rows) {
      for (const [layout, want] of Object.entries(row.input_ids)) {
        const ids = layouts[layout]?.encode(row.prompt).ids;
        expect({ layout, prompt: row.prompt, ids }).toEqual({ layout, prompt: row.prompt, ids: want });
      }
      // without the correction the library gives other ids for at least one prompt of the group
      const raw = library.encode(row.prompt).ids;
      const want = (row.input_ids["models/tiny-sd"] ?? []).slice(0, raw.length);
      if (raw.join() !== want.join()) libraryDiffers = true;
    }
    expect(libraryDiffers).toBe(true);
  });
});
