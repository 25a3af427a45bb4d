// fixtures/mutation/mutants.json stays in step with runtime/: every mutant's find text occurs exactly once
// in its file (so `make mutation` applies each one where it was meant), and the list covers every area
// the golden gate promises to guard.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import { applyMutant, loadMutants, type Mutant, occurrences } from "../../harness/golden/mutation.ts";

const mutants = loadMutants();

describe("the mutant list", () => {
  test.each(mutants.map((m) => [m.name, m] as const))(
    "%s: its find text occurs once in its file",
    (_name, m) => {
      const source = readFileSync(join(ROOT, m.file), "utf8");
      expect(occurrences(source, m.find)).toBe(1);
      expect(applyMutant(source, m)).not.toBe(source);
    },
  );

  test("it covers the tokenizer, text encoding, guidance, noise, VAE scaling, image conversion, img2img, inpainting, every scheduler and the contract", () => {
    const areas = new Set(mutants.map((m) => m.area.split(":")[0]));
    expect([...areas].sort()).toEqual(
      [
        "VAE scaling",
        "contract",
        "defaults",
        "guidance",
        "image conversion",
        "img2img",
        "inpainting",
        "noise",
        "scheduler",
        "text encoding",
        "tokenizer",
      ].sort(),
    );
    const schedulers = mutants.filter((m) => m.area.startsWith("scheduler: ")).map((m) => m.area.slice(11));
    for (const s of ["Euler", "Euler a", "LMS", "PNDM", "DDIM", "DPM++ 2M", "LCM"])
      expect(schedulers).toContain(s);
  });

  test("a stale find text is refused, naming the mutant, the count and the file", () => {
    const m: Mutant = {
      name: "x",
      area: "noise",
      file: "runtime/engine/random.ts",
      find: "nowhere",
      replace: "",
    };
    expect(() => applyMutant("text", m)).toThrow(
      'mutant "x": its find text occurs 0 times in runtime/engine/random.ts (needs exactly 1) — update fixtures/mutation/mutants.json',
    );
    expect(() => applyMutant("a a", { ...m, find: "a" })).toThrow("occurs 2 times");
  });
});
