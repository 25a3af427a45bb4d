import { describe, expect, test } from "vitest";
import { parseReport } from "../../harness/invoke/report.ts";
import {
  estimateMemory,
  type FunctionFile,
  glibcCheck,
  memoryCheck,
  permissionsCheck,
} from "../../harness/preflight/index.ts";
import { initDurations, initWarning } from "../../harness/scenarios/rie-logs.ts";

const onnx = {
  needed: ["libm.so.6"],
  versionNeeds: [{ file: "libm.so.6", versions: ["GLIBC_2.27", "GLIBC_2.2.5"] }],
};

describe("glibcCheck", () => {
  test("Amazon Linux 2 runtimes fail naming the file, the versions and the library", () => {
    const check = glibcCheck([{ path: "/var/task/libonnxruntime.so.1", elf: onnx }], "nodejs18.x");
    expect(check.status).toBe("fail");
    expect(check.details).toEqual(["/var/task/libonnxruntime.so.1 needs GLIBC_2.27 from libm.so.6"]);
  });
  test("Amazon Linux 2023 runtimes pass", () => {
    expect(glibcCheck([{ path: "/x.so", elf: onnx }], "nodejs24.x").status).toBe("pass");
  });
});

describe("permissionsCheck", () => {
  const file = (path: string, mode: number, kind: FunctionFile["kind"] = "file"): FunctionFile => ({
    path,
    kind,
    mode,
    uid: 0,
    gid: 0,
    size: 1,
    bytes: undefined,
  });
  test("lists files and folders uid 993 cannot read", () => {
    const check = permissionsCheck(
      [file("/var/task/a", 0o644), file("/var/task/m.onnx", 0o600), file("/var/task/d", 0o750, "dir")],
      "image x",
    );
    expect(check.details).toEqual([
      "/var/task/m.onnx (mode 0600 owner uid 0 gid 0)",
      "/var/task/d (folder, mode 0750 owner uid 0 gid 0)",
    ]);
  });
});

describe("memory estimate", () => {
  const tiny = {
    dir: "tiny",
    weightBytes: 5 * 1024 * 1024,
    heads: 2,
    vaeScale: 8,
    nativeWidth: 64,
    nativeHeight: 64,
  };
  test("warns when the estimate is over 90% of the memory size", () => {
    const estimate = estimateMemory(tiny, { width: 512, height: 512 });
    expect(estimate.activationsMb).toBe(640);
    expect(memoryCheck(tiny, estimate, 512).status).toBe("warn");
    expect(memoryCheck(tiny, estimate, 2048).status).toBe("pass");
  });
});

describe("RIE logs", () => {
  const logs = [
    "25 Nov 2026 03:41:27,487 [INFO] (rapid) INIT REPORT(durationMs: 12161.732000)",
    "REPORT RequestId: 9270\tInit Duration: 0.04 ms\tDuration: 508.13 ms\tBilled Duration: 509 ms\tMemory Size: 2048 MB\tMax Memory Used: 2048 MB\t",
  ].join("\n");
  test("parses REPORT lines", () => {
    expect(parseReport(logs.split("\n")[1] as string)).toEqual({
      requestId: "9270",
      durationMs: 508.13,
      billedDurationMs: 509,
      initDurationMs: 0.04,
      memorySizeMb: 2048,
      maxMemoryUsedMb: 2048,
      line: "REPORT RequestId: 9270\tInit Duration: 0.04 ms\tDuration: 508.13 ms\tBilled Duration: 509 ms\tMemory Size: 2048 MB\tMax Memory Used: 2048 MB",
    });
  });
  test("prefers the RIE's INIT REPORT and warns over 10 s", () => {
    expect(initDurations(logs)).toEqual([12161.732]);
    expect(initDurations("REPORT RequestId: 1\tInit Duration: 10500.5 ms\tDuration: 1 ms")).toEqual([
      10500.5,
    ]);
    expect(initWarning(9000, 300)).toBeUndefined();
    expect(initWarning(12161.732, 300)).toBe(
      "init took 12162 ms, over Lambda's 10 s init limit: Lambda would stop it and run init again inside the first invoke, where it counts against the 300 s function timeout — start slow work (model loading) without awaiting it at module level",
    );
  });
});
