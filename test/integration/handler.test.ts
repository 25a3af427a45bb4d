// The handler in-process on the tiny model, with the events of fixtures/events/: the three event shapes,
// the seed article's client decoding, and every bad request with its whole error message.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import { imageSize } from "../../runtime/engine/image.ts";

const EVENTS = new URL("../../fixtures/events/", import.meta.url);
const event = (name: string) => JSON.parse(readFileSync(new URL(name, EVENTS), "utf8"));
/** What the function URL and seed shapes answer (a direct invoke's JSON has other fields). */
type Answer = {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded?: boolean;
} & Record<string, unknown>;
type Handler = (event: unknown, context: unknown) => Promise<Answer>;
let handler: Handler;
let requests = 0;
const context = (remainingMs = 300_000) => ({
  awsRequestId: `req-${++requests}`,
  getRemainingTimeInMillis: () => remainingMs,
});

beforeAll(async () => {
  process.env.MNT_DIR = new URL("../../fixtures", import.meta.url).pathname;
  process.env.SD_MODEL = "tiny-sd";
  process.env.SD_THREADS = "1";
  handler = (await import("../../runtime/handler.ts")).handler as Handler;
});

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
const urlEvent = (body: string) => ({ ...event("function-url-plain.json"), body });

describe("event shapes", () => {
  test.each(["function-url-plain.json", "function-url-base64.json"])(
    "%s answers with the image itself",
    async (name) => {
      const res = await handler(event(name), context());
      expect(res.statusCode).toBe(200);
      expect(res.isBase64Encoded).toBe(true);
      expect(res.headers["content-type"]).toBe("image/png");
      expect(res.headers["x-sd-seed"]).toBe("7");
      expect(res.headers["server-timing"]).toMatch(/^tokenize;dur=\d+, text_encoder;dur=\d+, .*unet;dur=\d+/);
      const png = Buffer.from(res.body, "base64");
      expect(png.subarray(0, 4)).toEqual(PNG);
      expect(await imageSize(png)).toMatchObject({ width: 64, height: 64, format: "png" });
    },
  );

  test("plain and base64 function URL bodies give identical images for one seed", async () => {
    const a = await handler(event("function-url-plain.json"), context());
    const b = await handler(event("function-url-base64.json"), context());
    expect(a.body).toBe(b.body);
  });

  test("a function URL client that accepts only JSON gets JSON", async () => {
    const res = await handler(event("function-url-json-accept.json"), context());
    expect(res.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(res.body);
    expect(body).toMatchObject({
      seed: 7,
      width: 64,
      height: 64,
      scheduler: "lms",
      mode: "txt2img",
      model: "tiny-sd",
    });
    expect(Buffer.from(body.image_base64, "base64").subarray(0, 4)).toEqual(PNG);
  });

  test("the seed article's client decoding (latin1) yields a valid PNG", async () => {
    const res = await handler(event("seed-article.json"), context());
    expect(res.statusCode).toBe(200);
    // Python: json.loads(body)["image"].encode("latin1")
    const bytes = Buffer.from(JSON.parse(res.body).image, "latin1");
    expect(await imageSize(bytes)).toMatchObject({ width: 64, height: 64, format: "png" });
    expect(JSON.parse(res.body)).toMatchObject({
      num_inference_steps: 1,
      guidance_scale: 7.5,
      scheduler: "lms",
    });
  });

  test("a direct invoke returns the JSON result; a bad one throws a typed error", async () => {
    const res = await handler(event("direct.json"), context());
    expect(res).toMatchObject({ content_type: "image/png", seed: 7, num_inference_steps: 2, warnings: [] });
    await expect(handler({ prompt: "" }, context())).rejects.toMatchObject({
      name: "BadRequestError",
      code: "BAD_REQUEST",
      message: 'prompt must not be empty, got ""',
    });
  });
});

describe("bad requests", () => {
  const bad: { name: string; body?: string; body_bytes?: number; status: number; message: string }[] =
    event("bad-requests.json");
  test("there are at least 12 of them", () => expect(bad.length).toBeGreaterThanOrEqual(12));
  test.each(bad.map((b) => [b.name, b] as const))("%s", async (_name, b) => {
    const body = b.body ?? `{"prompt": "${"x".repeat((b.body_bytes ?? 0) - 14)}"}`;
    const res = await handler(urlEvent(body), context());
    expect(res.statusCode).toBe(b.status);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body).error.message).toBe(b.message);
  });

  test("after every bad request the function still serves a good one", async () => {
    for (const b of bad.slice(0, 5)) await handler(urlEvent(b.body ?? ""), context());
    const res = await handler(event("function-url-plain.json"), context());
    expect(res.statusCode).toBe(200);
  });
});

describe("limits it can see coming", () => {
  test("a deadline too close for the remaining steps is refused with the steps that would fit", async () => {
    await handler(event("function-url-plain.json"), context()); // learn the step time while warm
    const res = await handler(urlEvent('{"prompt": "tree", "num_inference_steps": 100}'), context(50));
    expect(res.statusCode).toBe(504);
    const { error } = JSON.parse(res.body);
    expect(error.code).toBe("DEADLINE");
    expect(error.message).toMatch(
      /^100 of 100 UNet steps left at ~\d+ ms each \(measured\) and ~\d+ ms to decode and answer \(measured\) need ~\d+ ms, but the function has 50 ms before its timeout — raise the function timeout$/,
    );
  });
});
