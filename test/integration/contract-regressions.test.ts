// One test per finding of issue 9 against the handler in-process on the tiny model, named after the
// bug. Limits are lowered for this file (SD_MAX_SIDE 512, SD_MAX_PIXELS 16384) so that a size over
// them stays cheap to render on the code that did not check it.
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { type InProcessHandler, importHandler } from "../helpers/handler.ts";
import { avif, b64, badCrc, claimingSize, gif, jpeg, png, tiff, truncated } from "../helpers/images.ts";

type HttpAnswer = { statusCode: number; headers: Record<string, string>; body: string };
let handler: InProcessHandler;
let requests = 0;
const context = () => ({ awsRequestId: `reg-${++requests}`, getRemainingTimeInMillis: () => 300_000 });

beforeAll(async () => {
  handler = await importHandler({
    SD_MAX_SIDE: "512",
    SD_MAX_PIXELS: "16384",
    SD_DEFAULT_STEPS: "4",
    SD_DEFAULT_STRENGTH: "0.25",
  });
});

afterAll(() => {
  vi.unstubAllEnvs();
});

const urlEvent = (fields: Record<string, unknown>) => ({
  version: "2.0",
  rawPath: "/",
  headers: { "content-type": "application/json" },
  requestContext: { http: { method: "POST", path: "/" } },
  isBase64Encoded: false,
  ...fields,
});
/** Status and error message (or parsed JSON body) of a function URL answer. */
async function post(
  event: unknown,
): Promise<{ status: number; message?: string; json: Record<string, unknown> }> {
  const res = (await handler(event, context())) as HttpAnswer;
  const json = res.headers["content-type"] === "application/json" ? JSON.parse(res.body) : {};
  return { status: res.statusCode, message: json.error?.message, json };
}
const postJson = (body: unknown) =>
  post(urlEvent({ body: JSON.stringify(body), headers: { accept: "application/json" } }));
const refusedWith = (status: number, message: string) => ({ status, message });

describe("malformed envelopes were 500s", () => {
  test.each([
    ["a number", 42, "got 42"],
    ["an array", ["tree"], "got an array of 1 item"],
    ["an object", { prompt: "tree" }, "got an object with 1 key"],
  ])("function URL body that is %s is a 400", async (_name, body, got) => {
    expect(await post(urlEvent({ body }))).toMatchObject(
      refusedWith(
        400,
        `body must be a string holding the request JSON, ${got}; send the JSON as text, e.g. "{\\"prompt\\": \\"tree\\"}"`,
      ),
    );
  });

  test("an accept header that is not a string is a 400", async () => {
    const event = urlEvent({ body: '{"prompt": "tree"}', headers: { accept: 7 } });
    expect(await post(event)).toMatchObject(refusedWith(400, 'header "accept" must be a string, got 7'));
  });

  test.each([
    ["null", null, "got requestContext.http null"],
    ["empty", {}, "got undefined"],
  ])("a %s requestContext.http is a 400", async (_name, http, got) => {
    const event = urlEvent({ body: '{"prompt": "tree"}', requestContext: { http } });
    expect(await post(event)).toMatchObject(
      refusedWith(
        400,
        `requestContext.http.method must be the request's HTTP method, ${got}; a function URL event (payload format 2.0) carries it there`,
      ),
    );
  });
});

describe("broken images were 500s", () => {
  const init = async (bytes: Buffer, extra: Record<string, unknown> = {}) =>
    postJson({ prompt: "tree", init_image: b64(bytes), width: 64, height: 64, ...extra });

  test("a truncated PNG init_image is a 400 naming init_image", async () => {
    expect(await init(truncated(await png(64, 64)))).toMatchObject(
      refusedWith(
        400,
        "init_image is a PNG whose pixels cannot be decoded (vipspng: libpng read error) — it is truncated or corrupt; send a complete PNG, JPEG or WebP",
      ),
    );
  });

  test("a truncated JPEG init_image is a 400 naming init_image", async () => {
    const res = await init(truncated(await jpeg(64, 64)));
    expect(res.status).toBe(400);
    expect(res.message).toMatch(
      /^init_image is a JPEG whose (header|pixels) cannot be decoded \(.+\) — it is truncated or corrupt; send a complete PNG, JPEG or WebP$/,
    );
  });

  test("a PNG with a bad IHDR CRC is a 400 naming init_image", async () => {
    const res = await init(badCrc(await png(64, 64)));
    expect(res.status).toBe(400);
    expect(res.message).toMatch(
      /^init_image is a PNG whose (header|pixels) cannot be decoded \(.+\) — it is truncated or corrupt/,
    );
  });

  test("a PNG header claiming 16000x16000 is refused before decoding", async () => {
    expect(await init(claimingSize(await png(64, 64), 16000, 16000))).toMatchObject(
      refusedWith(
        400,
        "init_image is 16000x16000 pixels; the limit is 512 per side (SD_MAX_SIDE) and 16384 pixels (SD_MAX_PIXELS) — send a smaller image",
      ),
    );
  });

  test("a broken mask is a 400 naming mask", async () => {
    const res = await init(await png(64, 64), { mask: b64(truncated(await png(64, 64))) });
    expect(res).toMatchObject({ status: 400 });
    expect(res.message).toMatch(/^mask is a PNG whose pixels cannot be decoded/);
  });

  test("a direct invoke with a truncated init_image throws a BadRequestError, not ENGINE", async () => {
    const request = { prompt: "tree", init_image: b64(truncated(await png(64, 64))), width: 64, height: 64 };
    await expect(handler(request, context())).rejects.toMatchObject({
      name: "BadRequestError",
      code: "BAD_REQUEST",
    });
  });

  test.each([
    ["TIFF", tiff, "a TIFF image"],
    ["GIF", gif, "a GIF image"],
    ["AVIF", avif, "an AVIF image"],
  ])("a %s init_image is refused by name (the contract is PNG, JPEG, WebP)", async (_name, make, what) => {
    expect(await init(await make(64, 64))).toMatchObject(
      refusedWith(400, `init_image is ${what}; send a base64-encoded PNG, JPEG or WebP`),
    );
  });
});

describe("deep nesting overflowed the stack", () => {
  const deep = (levels: number) => {
    let v: unknown = 1;
    for (let i = 0; i < levels; i++) v = [v];
    return v;
  };

  test("100,000 levels in a function URL body is a 400", async () => {
    const body = `{"prompt": ${"[".repeat(100_000)}1${"]".repeat(100_000)}}`;
    expect(await post(urlEvent({ body }))).toMatchObject(
      refusedWith(
        400,
        "request body nests objects and arrays more than 32 levels deep (at character 42); the limit is 32",
      ),
    );
  });

  test("100,000 levels in a direct invoke's field is a BadRequestError", async () => {
    await expect(handler({ prompt: deep(100_000) }, context())).rejects.toMatchObject({
      name: "BadRequestError",
      message: "prompt is required and must be a string, got an array of 1 item",
    });
  });
});

describe("limits that could be walked around", () => {
  test("lcm with 51 steps (inside 1-100) is a 400 before any work, not a 500", async () => {
    expect(await postJson({ prompt: "tree", scheduler: "lcm", num_inference_steps: 51 })).toMatchObject(
      refusedWith(
        400,
        "num_inference_steps must be from 1 to 50 with scheduler lcm (its config's original_inference_steps is 50), got 51",
      ),
    );
  });

  test("an init image over SD_MAX_SIDE with no width and height is refused, not rendered at its size", async () => {
    expect(await postJson({ prompt: "tree", init_image: b64(await png(1024, 16)) })).toMatchObject(
      refusedWith(
        400,
        "init_image is 1024x16 pixels; the limit is 512 per side (SD_MAX_SIDE) and 16384 pixels (SD_MAX_PIXELS) — send a smaller image",
      ),
    );
  });

  test("an init image over SD_MAX_PIXELS is refused", async () => {
    expect(await postJson({ prompt: "tree", init_image: b64(await png(144, 128)) })).toMatchObject(
      refusedWith(
        400,
        "init_image is 144x128 pixels; the limit is 512 per side (SD_MAX_SIDE) and 16384 pixels (SD_MAX_PIXELS) — send a smaller image",
      ),
    );
  });

  test("an omitted side counts as the model's default, not 0, in the pixel check", async () => {
    expect(await postJson({ prompt: "tree", width: 512 })).toMatchObject(
      refusedWith(
        400,
        "width × height must be at most 16384 pixels, got 512x64 = 32768 (height from model tiny-sd's default)",
      ),
    );
  });
});

describe("messages and logs echoed the input", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  test("a 1.5 M-element array as prompt gives a short message", async () => {
    const body = `{"prompt": [${Array(1_500_000).fill(1).join(",")}]}`;
    expect(await post(urlEvent({ body }))).toMatchObject(
      refusedWith(400, "prompt is required and must be a string, got an array of 1500000 items"),
    );
  });

  test("400,000 unknown keys list three and a count, within 300 characters", async () => {
    const request: Record<string, unknown> = { prompt: "tree" };
    for (let i = 0; i < 400_000; i++) request[`k${i}`] = 0;
    const error = await handler(request, context()).catch((e: Error) => e);
    expect(error).toMatchObject({
      name: "BadRequestError",
      message:
        'unknown field "k0", "k1", "k2" and 399997 more; known fields: prompt, negative_prompt, seed, num_inference_steps, guidance_scale, width, height, scheduler, init_image, mask, strength, output_format',
    });
    expect((error as Error).message.length).toBeLessThanOrEqual(300);
  });

  test("400,000 keys in a body are refused while scanning, before parsing", async () => {
    const body = `{"prompt": "tree", ${Array.from({ length: 400_000 }, (_, i) => `"k${i}": 0`).join(", ")}}`;
    expect(await post(urlEvent({ body }))).toMatchObject(
      refusedWith(
        400,
        "request body has more than 256 keys in one object (at character 2714); the request has 12 fields",
      ),
    );
  });

  test("an init_image sent as an array leaves no image data in the answer or the log", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    const data = b64(await png(64, 64));
    const res = await postJson({ prompt: "tree", init_image: [data, data] });
    expect(res).toMatchObject(
      refusedWith(400, "init_image must be a base64 string, got an array of 2 items"),
    );
    const middle = data.slice(40, 80);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(middle);
    expect(JSON.stringify(res.json)).not.toContain(middle);
  });

  test("a duplicate key is a 400 naming it, not its last value", async () => {
    const body = '{"prompt": "tree", "seed": 1, "seed": 2}';
    expect(await post(urlEvent({ body }))).toMatchObject(
      refusedWith(
        400,
        'request body has the key "seed" twice in one object (at character 30); send each field once',
      ),
    );
  });
});

describe("what the request or environment gave was dropped silently", () => {
  test("SD_DEFAULT_STRENGTH is used when strength is omitted, and echoed", async () => {
    const res = await postJson({
      prompt: "tree",
      init_image: b64(await png(64, 64)),
      num_inference_steps: 4,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ mode: "img2img", strength: 0.25 });
  });

  test("an init image's alpha channel and a resized mask are named in the warnings", async () => {
    const res = await postJson({
      prompt: "tree",
      init_image: b64(await png(64, 64, true)),
      mask: b64(await png(32, 32)),
      num_inference_steps: 4,
    });
    expect(res.status).toBe(200);
    expect(res.json.warnings).toEqual([
      "init_image has an alpha channel; it was dropped (RGB used as is)",
      "mask is 32x32; resized to 64x64",
    ]);
  });
});
