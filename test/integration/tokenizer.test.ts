// Token ids from @huggingface/tokenizers on the tiny model's tokenizer.json must equal transformers'
// CLIPTokenizer (padding="max_length", max_length=77, truncation=True) on every reference prompt.
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { ClipTokenizer } from "../../runtime/engine/tokenizer.ts";

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
