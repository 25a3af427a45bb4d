// The request contract's pure parts: the clip helper, the JSON pre-scan, the envelope checks, the
// environment's limits and the scheduler step ranges (checked against the schedulers themselves).
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { clipForLog, clipText, describeValue, listClipped } from "../../runtime/clip.ts";
import { runtimeConfig } from "../../runtime/config.ts";
import { sniffFormat } from "../../runtime/engine/image.ts";
import {
  createScheduler,
  SCHEDULER_NAMES,
  type SchedulerConfig,
} from "../../runtime/engine/schedulers/index.ts";
import { parseEvent } from "../../runtime/events.ts";
import { scanJson } from "../../runtime/json-scan.ts";
import { stepRange } from "../../runtime/render.ts";
import { limitsFromEnv } from "../../runtime/request.ts";

const SIX_MB = 6 * 1024 * 1024;
const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return { name: (error as Error).name, message: (error as Error).message };
  }
  throw new Error("expected a refusal");
};

describe("clip", () => {
  test("text is cut with an ellipsis and never splits a surrogate pair", () => {
    expect(clipText("abcdef", 4)).toBe("abc…");
    expect(clipText("ab😀cd", 4)).toBe("ab…");
    expect(clipText("short", 300)).toBe("short");
  });

  test("values are described without walking into them", () => {
    expect(describeValue("tree")).toBe('"tree"');
    expect(describeValue("x".repeat(41))).toBe("a string of 41 characters");
    expect(describeValue(new Array(1_500_000).fill(1))).toBe("an array of 1500000 items");
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(describeValue(deep)).toBe("an object with 1 key");
    expect(describeValue(10n)).toBe("10");
  });

  test("lists show three names, then a count", () => {
    expect(listClipped(["a", "b", "c", "d", "e"])).toBe('"a", "b", "c" and 2 more');
    expect(listClipped(["k".repeat(100)])).toBe(`"${"k".repeat(22)}…`);
  });

  test("log records keep strings, arrays and depth bounded", () => {
    const clipped = clipForLog({ a: "x".repeat(5000), b: Array(50).fill("y"), c: { d: { e: { f: 1 } } } });
    expect(clipped).toEqual({
      a: `${"x".repeat(299)}…`,
      b: [...Array(10).fill("y"), "… 40 more"],
      c: { d: { e: "an object with 1 key" } },
    });
  });
});

describe("JSON pre-scan", () => {
  test("nesting past 32 levels is refused before JSON.parse", () => {
    scanJson(`${"[".repeat(32)}${"]".repeat(32)}`);
    expect(refusal(() => scanJson(`{"prompt": ${"[".repeat(100_000)}`))).toEqual({
      name: "BadRequestError",
      message:
        "request body nests objects and arrays more than 32 levels deep (at character 42); the limit is 32",
    });
  });

  test("a key twice in one object is refused, escapes decoded; the same key in two objects is fine", () => {
    scanJson('{"a": {"seed": 1}, "seed": 2, "s": "{\\"seed\\": 3}"}');
    expect(refusal(() => scanJson('{"seed": 1, "prompt": "x", "se\\u0065d": 2}')).message).toBe(
      'request body has the key "seed" twice in one object (at character 27); send each field once',
    );
  });

  test("a 6 MB body is scanned without building anything", () => {
    scanJson(JSON.stringify({ prompt: "tree", init_image: "A".repeat(SIX_MB - 40) }));
  });
});

describe("envelopes", () => {
  const url = (fields: Record<string, unknown>) => ({
    version: "2.0",
    requestContext: { http: { method: "POST" } },
    body: '{"prompt": "tree"}',
    ...fields,
  });
  test.each([
    [
      "a function URL body that is a number",
      url({ body: 42 }),
      'body must be a string holding the request JSON, got 42; send the JSON as text, e.g. "{\\"prompt\\": \\"tree\\"}"',
    ],
    [
      "a function URL body that is an object",
      url({ body: { prompt: "tree" } }),
      'body must be a string holding the request JSON, got an object with 1 key; send the JSON as text, e.g. "{\\"prompt\\": \\"tree\\"}"',
    ],
    [
      "an accept header that is not a string",
      url({ headers: { accept: ["application/json"] } }),
      'header "accept" must be a string, got an array of 1 item',
    ],
    [
      "headers that are not an object",
      url({ headers: "accept: */*" }),
      'headers must be an object of strings, got "accept: */*"',
    ],
    [
      "a null requestContext.http",
      url({ requestContext: { http: null } }),
      "requestContext.http.method must be the request's HTTP method, got requestContext.http null; a function URL event (payload format 2.0) carries it there",
    ],
    [
      "an empty requestContext.http",
      url({ requestContext: { http: {} } }),
      "requestContext.http.method must be the request's HTTP method, got undefined; a function URL event (payload format 2.0) carries it there",
    ],
    [
      "isBase64Encoded that is not a boolean",
      url({ isBase64Encoded: "true" }),
      'isBase64Encoded must be true or false, got "true"',
    ],
    [
      "a base64 body with characters outside base64",
      url({ isBase64Encoded: true, body: "eyJwcm9tcHQiOiAidHJlZSJ9!" }),
      'body is not base64: character 24 is "!"',
    ],
    [
      "a base64 body that is not UTF-8",
      url({ isBase64Encoded: true, body: Buffer.from([0xff, 0xfe, 0x7b]).toString("base64") }),
      "body is not UTF-8 text after base64 decoding (3 bytes); send JSON",
    ],
    [
      "a method that is not POST",
      url({ requestContext: { http: { method: "GET" } } }),
      'method GET is not supported; POST a JSON body such as {"prompt": "tree"}',
    ],
    [
      "the seed shape with a body that is an array",
      { body: [1, 2] },
      'body must be a string holding the request JSON, got an array of 2 items; send the JSON as text, e.g. "{\\"prompt\\": \\"tree\\"}"',
    ],
  ])("%s is a 400 naming the field", (_name, event, message) => {
    expect(refusal(() => parseEvent(event, SIX_MB))).toEqual({ name: "BadRequestError", message });
  });

  test("a well-formed function URL event with mixed-case headers parses", () => {
    expect(parseEvent(url({ headers: { Accept: "application/json" } }), SIX_MB)).toEqual({
      shape: "function-url",
      body: { prompt: "tree" },
      wantsJson: true,
    });
  });
});

describe("environment", () => {
  test("SD_DEFAULT_STRENGTH is read and defaults may be 0", () => {
    const limits = limitsFromEnv({ SD_DEFAULT_STRENGTH: "0.3", SD_DEFAULT_GUIDANCE: "0" });
    expect(limits).toMatchObject({ defaultStrength: 0.3, defaultGuidance: 0 });
  });

  test.each([
    [{ SD_MAX_STEPS: "ten" }, 'SD_MAX_STEPS="ten" is not allowed: a whole number ≥ 1'],
    [{ SD_MAX_SIDE: "500" }, 'SD_MAX_SIDE="500" is not allowed: a multiple of 8, ≥ 8'],
    [
      { SD_DEFAULT_STEPS: "200" },
      'SD_DEFAULT_STEPS="200" is not allowed: a whole number from 1 to 100 (SD_MAX_STEPS)',
    ],
    [
      { SD_DEFAULT_STRENGTH: "0" },
      'SD_DEFAULT_STRENGTH="0" is not allowed: a number greater than 0 and at most 1',
    ],
    [
      { SD_DEFAULT_GUIDANCE: " " },
      'SD_DEFAULT_GUIDANCE=" " is not allowed: a number from 0 to 30 (SD_MAX_GUIDANCE)',
    ],
    [
      { SD_THREADS: "two" },
      'SD_THREADS="two" is not allowed: a whole number from 1 to 1024 (unset: one per 1,769 MB of memory)',
    ],
    [
      { SD_OPTIMIZED_GRAPHS: "yes" },
      'SD_OPTIMIZED_GRAPHS="yes" is not allowed: one of use, save, off (unset: use; save writes a graph optimised for the host into the model folder when it has none)',
    ],
  ])("%o fails with a ConfigError naming the variable, the value and what is allowed", (env, message) => {
    expect(refusal(() => runtimeConfig(env))).toEqual({ name: "ConfigError", message });
  });
});

describe("scheduler step ranges", () => {
  const tiny = JSON.parse(
    readFileSync(
      new URL("../../fixtures/models/tiny-sd/scheduler/scheduler_config.json", import.meta.url),
      "utf8",
    ),
  ) as SchedulerConfig;
  const configs: [string, SchedulerConfig][] = [
    ["tiny-sd", tiny],
    ["prk warm-up", { ...tiny, skip_prk_steps: false }],
    ["lcm 8", { ...tiny, original_inference_steps: 8 }],
  ];
  test.each(configs)("every count stepRange allows for %s builds each scheduler", (_name, config) => {
    for (const name of SCHEDULER_NAMES) {
      const { min, max } = stepRange(name, config);
      for (let steps = min; steps <= Math.min(max, 150); steps++) createScheduler(name, config, steps);
    }
  });

  test("LCM's limit is its original_inference_steps (default 50); PRK warm-up needs 4", () => {
    expect(stepRange("lcm", tiny)).toEqual({
      min: 1,
      max: 50,
      why: "its config's original_inference_steps is 50",
    });
    expect(() => createScheduler("lcm", tiny, 51)).toThrow(RangeError);
    expect(stepRange("pndm", { ...tiny, skip_prk_steps: false }).min).toBe(4);
    expect(() => createScheduler("pndm", { ...tiny, skip_prk_steps: false }, 3)).toThrow();
  });
});

describe("image formats from magic bytes", () => {
  const bytes = (text: string) => Buffer.from(text, "latin1");
  test.each([
    ["\x89PNG\r\n\x1a\n....", "png"],
    ["\xff\xd8\xff\xe0", "jpeg"],
    ["RIFF\0\0\0\0WEBPVP8 ", "webp"],
    ["GIF89a", { other: "a GIF image" }],
    ["II*\0", { other: "a TIFF image" }],
    ["MM\0*", { other: "a TIFF image" }],
    ["BM....", { other: "a BMP image" }],
    ["%PDF-1.7", { other: "a PDF document" }],
    ["\0\0\0\x1cftypavif", { other: "an AVIF image" }],
    ["\0\0\0\x18ftypheic", { other: "a HEIF image" }],
    ["\0\0\0\x18ftypisom", { other: "an ISO media file" }],
    [" \n<svg xmlns='http://www.w3.org/2000/svg'/>", { other: "an SVG document" }],
    ["<?xml version='1.0'?>", { other: "an SVG document" }],
    ["hello", { other: "" }],
  ])("%j is %j", (text, format) => {
    expect(sniffFormat(bytes(text))).toEqual(format);
  });
});
