import { describe, expect, it } from "vitest";
import { clfTime, fromInvokeResult, type HttpRequest, isTextContentType, toEvent } from "./function-url.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const opts = {
  requestId: "req-1",
  now: new Date("2020-03-12T19:03:58.390Z"),
  region: "us-east-1",
  accountId: "123456789012",
  urlId: "abc",
};
const request = (over: Partial<HttpRequest> = {}): HttpRequest => ({
  method: "post",
  url: "/generate",
  headers: [],
  body: new Uint8Array(),
  sourceIp: "172.18.0.1",
  protocol: "HTTP/1.1",
  ...over,
});

describe("toEvent", () => {
  it("builds a payload-2.0 event with lower-cased headers, cookies and query parameters", () => {
    const event = toEvent(
      request({
        url: "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
        headers: [
          ["Host", "localhost:9001"],
          ["User-Agent", "curl/8"],
          ["Content-Type", "application/json"],
          ["Cookie", "cookie1=a; cookie2=b"],
          ["X-Multi", "1"],
          ["x-multi", "2"],
        ],
        body: enc('{"prompt":"a cat"}'),
      }),
      opts,
    );
    expect(event).toEqual({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/my/path",
      rawQueryString: "parameter1=value1&parameter1=value2&parameter2=value",
      cookies: ["cookie1=a", "cookie2=b"],
      headers: {
        host: "localhost:9001",
        "user-agent": "curl/8",
        "content-type": "application/json",
        "x-multi": "1,2",
      },
      queryStringParameters: { parameter1: "value1,value2", parameter2: "value" },
      requestContext: {
        accountId: "123456789012",
        apiId: "abc",
        domainName: "localhost:9001",
        domainPrefix: "localhost:9001",
        http: {
          method: "POST",
          path: "/my/path",
          protocol: "HTTP/1.1",
          sourceIp: "172.18.0.1",
          userAgent: "curl/8",
        },
        requestId: "req-1",
        routeKey: "$default",
        stage: "$default",
        time: "12/Mar/2020:19:03:58 +0000",
        timeEpoch: 1584039838390,
      },
      body: '{"prompt":"a cat"}',
      isBase64Encoded: false,
    });
  });

  it("leaves out body, cookies and queryStringParameters when the request has none", () => {
    const event = toEvent(request({ method: "GET", url: "/" }), opts);
    expect(event.body).toBeUndefined();
    expect(event.cookies).toBeUndefined();
    expect(event.queryStringParameters).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.requestContext.domainName).toBe("abc.lambda-url.us-east-1.on.aws");
  });

  it("base64-encodes bodies whose content type is not text", () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
    const event = toEvent(request({ headers: [["content-type", "image/png"]], body: png }), opts);
    expect(event.isBase64Encoded).toBe(true);
    expect(event.body).toBe(Buffer.from(png).toString("base64"));
  });

  it("base64-encodes a body without a content type", () => {
    const event = toEvent(request({ body: enc("hello") }), opts);
    expect(event).toMatchObject({ body: "aGVsbG8=", isBase64Encoded: true });
  });
});

describe("isTextContentType", () => {
  it.each([
    ["text/plain; charset=utf-8", true],
    ["application/json", true],
    ["application/problem+json", true],
    ["application/xml", true],
    ["image/svg+xml", true],
    ["application/javascript", true],
    ["application/x-www-form-urlencoded", false],
    ["application/octet-stream", false],
    ["image/png", false],
    [undefined, false],
  ])("%s -> %s", (type, text) => {
    expect(isTextContentType(type)).toBe(text);
  });
});

describe("clfTime", () => {
  it("formats like requestContext.time", () => {
    expect(clfTime(new Date("2026-01-05T04:05:06Z"))).toBe("05/Jan/2026:04:05:06 +0000");
  });
});

describe("fromInvokeResult", () => {
  it("maps a structured response: status, headers, multi-value headers, cookies, base64 body", () => {
    const res = fromInvokeResult(
      200,
      enc(
        JSON.stringify({
          statusCode: 201,
          headers: { "Content-Type": "image/png", "Server-Timing": "unet;dur=12" },
          multiValueHeaders: { "X-Seed": ["1", "2"] },
          cookies: ["a=1; Path=/", "b=2"],
          body: Buffer.from([1, 2, 3]).toString("base64"),
          isBase64Encoded: true,
        }),
      ),
    );
    expect(res.status).toBe(201);
    expect(res.headers).toEqual([
      ["content-type", "image/png"],
      ["server-timing", "unet;dur=12"],
      ["x-seed", "1"],
      ["x-seed", "2"],
      ["set-cookie", "a=1; Path=/"],
      ["set-cookie", "b=2"],
    ]);
    expect([...res.body]).toEqual([1, 2, 3]);
  });

  it("keeps a text body as is and defaults the content type to application/json", () => {
    const res = fromInvokeResult(200, enc(JSON.stringify({ statusCode: 400, body: '{"error":"prompt"}' })));
    expect(res).toEqual({
      status: 400,
      headers: [["content-type", "application/json"]],
      body: enc('{"error":"prompt"}'),
    });
  });

  it("infers 200 application/json with the payload as body when there is no statusCode", () => {
    const payload = enc('{"image_base64":"AAAA","seed":42}');
    expect(fromInvokeResult(200, payload)).toEqual({
      status: 200,
      headers: [["content-type", "application/json"]],
      body: payload,
    });
    expect(dec(fromInvokeResult(200, enc('"just a string"')).body)).toBe('"just a string"');
  });

  it("turns a function error into 502 with the error JSON", () => {
    const err = { errorType: "Error", errorMessage: "boom", trace: ["Error: boom"] };
    const res = fromInvokeResult(200, enc(JSON.stringify(err)));
    expect(res.status).toBe(502);
    expect(JSON.parse(dec(res.body))).toEqual({ message: "Internal Server Error", ...err });
  });

  it("turns a timeout into 502 Sandbox.Timedout", () => {
    const res = fromInvokeResult(200, enc("Task timed out after 2.00 seconds"));
    expect(res.status).toBe(502);
    expect(JSON.parse(dec(res.body))).toEqual({
      message: "Internal Server Error",
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 2.00 seconds",
    });
  });

  it("turns an RIE failure status into 502 naming the status", () => {
    const res = fromInvokeResult(504, new Uint8Array());
    expect(res.status).toBe(502);
    expect(JSON.parse(dec(res.body))).toEqual({
      message: "Internal Server Error",
      errorType: "Emulator.InvokeFailed",
      errorMessage: "the RIE answered HTTP 504 with an empty body",
    });
  });

  it("turns a payload that is not JSON into 502", () => {
    const res = fromInvokeResult(200, enc("<html>"));
    expect(res.status).toBe(502);
    expect(JSON.parse(dec(res.body)).errorType).toBe("Emulator.InvalidResponse");
  });

  it("does not mistake a result with more fields than an error for an error", () => {
    const payload = enc(JSON.stringify({ errorType: "x", errorMessage: "y", seed: 1 }));
    expect(fromInvokeResult(200, payload).status).toBe(200);
  });
});
