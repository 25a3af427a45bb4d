// 3,000 seeded generated events across the three event shapes against the handler in-process on the
// tiny model: malformed JSON and envelopes, wrong types, extreme numbers, huge strings, unknown and
// duplicate keys, deep nesting, broken and refused image formats, ~6 MB bodies. The contract: only
// 200/400/413/504, every error typed, messages ≤ 300 characters, log lines bounded and free of image
// data, the heap flat, and a good request still served at the end. Limits are lowered (128 px sides,
// 4 steps) so that the requests that are valid stay cheap.

import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, expect, test, vi } from "vitest";
import { SdLambdaError } from "../../runtime/errors.ts";
import { type InProcessHandler, importHandler } from "../helpers/handler.ts";
import { avif, b64, badCrc, claimingSize, gif, jpeg, png, tiff, truncated, webp } from "../helpers/images.ts";
import { seeded } from "../helpers/random.ts";

const EVENTS = 3000;
const SEED = 20261206;
const MAX_LOG_LINE = 4000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let handler: InProcessHandler;
let images: { good: string[]; bad: string[] };
/** Slices from the middle of every image's base64: none may appear in a log line or an error. */
let markers: string[];

beforeAll(async () => {
  handler = await importHandler({
    SD_MAX_SIDE: "128",
    SD_MAX_PIXELS: "16384",
    SD_MAX_STEPS: "4",
    SD_DEFAULT_STEPS: "2",
  });
  const p64 = await png(64, 64);
  images = {
    good: [p64, await png(16, 16, true), await jpeg(64, 64), await webp(32, 32)].map(b64),
    bad: [
      truncated(p64),
      truncated(await jpeg(64, 64)),
      truncated(await webp(64, 64)),
      badCrc(p64),
      claimingSize(p64, 16000, 16000),
      await png(256, 16),
      await tiff(16, 16),
      await gif(16, 16),
      await avif(16, 16),
      Buffer.from("%PDF-1.4 not an image"),
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      Buffer.alloc(0),
    ].map(b64),
  };
  markers = [...images.good, ...images.bad].filter((s) => s.length > 80).map((s) => s.slice(40, 80));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

const FIELDS = [
  "prompt",
  "negative_prompt",
  "seed",
  "num_inference_steps",
  "guidance_scale",
  "width",
  "height",
  "scheduler",
  "init_image",
  "mask",
  "strength",
  "output_format",
];

/** One generated event and the shape it was built for. */
function generate(rand: () => number, n: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const deep = (levels: number) => {
    let v: unknown = "x";
    for (let i = 0; i < levels; i++) v = rand() < 0.5 ? [v] : { a: v };
    return v;
  };
  const weird = (): unknown =>
    pick([
      () => pick([1e308, -1e308, -0, 2 ** 53 + 2, 0.5, 1e-300, -1, 4294967296, 3.7]),
      () => "x".repeat(pick([0, 1, 41, 3000, 100_000])),
      () => pick([null, true, false, [], {}]),
      () => Array(int(0, 2000)).fill(pick([1, "iVBORw0KGgo", null])),
      () => deep(int(2, 3000)),
      () => pick(images.good),
      () => pick(images.bad),
      () =>
        pick(["lms", "pndm", "euler", "euler_a", "ddim", "dpmpp_2m", "lcm", "heun", "png", "jpeg", "gif"]),
    ])();

  const request: Record<string, unknown> = {
    prompt: pick(["tree", "a red house", "", " ", "x".repeat(2001)]),
  };
  if (rand() < 0.7) request.seed = int(0, 1000);
  if (rand() < 0.8) request.num_inference_steps = int(0, 5);
  if (rand() < 0.3) request.width = pick([16, 32, 64, 96, 128, 136, 0, 8]);
  if (rand() < 0.3) request.height = pick([16, 32, 64, 96, 128, 136]);
  if (rand() < 0.3) request.guidance_scale = pick([0, 1, 7.5, 30, 31]);
  if (rand() < 0.2) request.scheduler = pick(["lms", "pndm", "euler", "euler_a", "ddim", "dpmpp_2m", "lcm"]);
  if (rand() < 0.25) request.init_image = pick(rand() < 0.5 ? images.good : images.bad);
  if (rand() < 0.1) request.mask = pick(rand() < 0.5 ? images.good : images.bad);
  if (rand() < 0.1) request.strength = pick([0, 0.5, 1, 1.5]);
  if (rand() < 0.1) request.output_format = pick(["png", "jpeg", "webp", "tiff"]);
  for (let m = int(0, 3); m > 0; m--) request[rand() < 0.8 ? pick(FIELDS) : `extra${int(0, 9)}`] = weird();
  if (rand() < 0.03) for (let k = int(1, 400); k > 0; k--) request[`k${k}`] = k;

  let text = JSON.stringify(request);
  const r = rand();
  if (r < 0.05)
    text = text.slice(0, int(0, text.length)); // malformed JSON
  else if (r < 0.08)
    text = `{"seed": 1, ${text.slice(1)}`; // a duplicate key, perhaps
  else if (r < 0.1) text = `${"[".repeat(int(30, 6000))}1`;
  else if (r < 0.11) text = pick(["null", "42", '"tree"', "[]", "", "\u0000"]);
  if (n % 500 === 499)
    text = JSON.stringify({ prompt: "tree", init_image: "A".repeat(6 * 1024 * 1024 - int(-200, 200)) });

  const shape = rand();
  if (shape < 0.45) {
    const base64 = rand() < 0.2;
    const event: Record<string, unknown> = {
      version: "2.0",
      rawPath: "/",
      headers: {
        "content-type": "application/json",
        ...(rand() < 0.3 ? { accept: "application/json" } : {}),
      },
      requestContext: { http: { method: "POST", path: "/" } },
      isBase64Encoded: base64,
      body: base64 ? Buffer.from(text).toString("base64") : text,
    };
    if (rand() < 0.15) {
      const [key, value] = pick<[string, unknown]>([
        ["body", weird()],
        ["headers", weird()],
        ["headers", { accept: weird() }],
        ["requestContext", { http: pick([null, {}, { method: weird() }, { method: "GET" }]) }],
        ["isBase64Encoded", weird()],
        ["body", "!!not base64!!"],
      ]);
      event[key] = value;
      if (key === "body" && value === "!!not base64!!") event.isBase64Encoded = true;
    }
    return event;
  }
  if (shape < 0.7) return { body: rand() < 0.9 ? text : weird() };
  if (rand() < 0.05) return weird();
  return request;
}

test(`${EVENTS} generated events: only 200/400/413/504, typed errors, bounded messages and logs, flat heap`, async () => {
  const rand = seeded(SEED);
  const statuses = new Map<number, number>();
  const problems: string[] = [];
  let logLines = 0;
  let rejections = 0;
  const onRejection = () => rejections++;
  process.on("unhandledRejection", onRejection);
  const log = console.log;
  console.log = (line: unknown) => {
    logLines++;
    const text = String(line);
    if (text.length > MAX_LOG_LINE) problems.push(`log line of ${text.length} characters`);
    // the prompt is logged (clipped to 120 characters) whatever it holds, base64 included; nothing else
    // may carry image data
    const { prompt: _prompt, ...rest } = JSON.parse(text) as Record<string, unknown>;
    if (markers.some((m) => JSON.stringify(rest).includes(m)))
      problems.push(`image data in a log line: ${text.slice(0, 200)}`);
  };
  let heapAtStart = 0;
  try {
    for (let n = 0; n < EVENTS; n++) {
      if (n === 500) {
        // measured after the warm-up (JIT, caches, the timing memory) has settled
        gc();
        heapAtStart = process.memoryUsage().heapUsed;
      }
      const event = generate(rand, n);
      // a few invokes with little time left: refused with a DEADLINE before or between steps
      const remaining = rand() < 0.03 ? 30 : 300_000;
      const context = { awsRequestId: `fuzz-${n}`, getRemainingTimeInMillis: () => remaining };
      let status: number;
      let message: string | undefined;
      try {
        const res = (await handler(event, context)) as Record<string, unknown>;
        status = typeof res.statusCode === "number" ? res.statusCode : 200;
        if (status !== 200) message = JSON.parse(res.body as string).error?.message;
        else if (
          typeof res.body === "string" &&
          res.headers &&
          (res.headers as Record<string, string>)["content-type"] === "application/json"
        )
          message = undefined;
      } catch (error) {
        if (!(error instanceof SdLambdaError) || error.code === "ENGINE") {
          problems.push(`event ${n}: untyped ${String(error).slice(0, 200)}`);
          continue;
        }
        status = error.status;
        message = error.message;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (![200, 400, 413, 504].includes(status))
        problems.push(`event ${n}: status ${status}: ${message?.slice(0, 200)}`);
      if (message !== undefined && message.length > 300)
        problems.push(`event ${n}: message of ${message.length} characters`);
      if (message !== undefined && markers.some((m) => message.includes(m)))
        problems.push(`event ${n}: image data in the message`);
    }
    gc();
    const heapAtEnd = process.memoryUsage().heapUsed;
    const good = (await handler(
      { prompt: "tree", seed: 7, num_inference_steps: 2 },
      { awsRequestId: "fuzz-good", getRemainingTimeInMillis: () => 300_000 },
    )) as Record<string, unknown>;
    expect(problems).toEqual([]);
    expect(rejections).toBe(0);
    expect(logLines).toBeGreaterThanOrEqual(EVENTS);
    // every kind of answer was exercised
    expect([...statuses.keys()].sort()).toEqual([200, 400, 504]);
    expect(statuses.get(200)).toBeGreaterThan(50);
    expect(heapAtEnd / heapAtStart).toBeLessThan(1.05);
    expect(good).toMatchObject({ seed: 7, width: 64, height: 64 });
  } finally {
    console.log = log;
    process.off("unhandledRejection", onRejection);
  }
});
