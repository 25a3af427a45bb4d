// preflight --arch on real native files: onnxruntime-node ships both linux/x64 and linux/arm64 bindings
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { archCheck, elfMachine } from "../../harness/preflight/arch.ts";
import type { FunctionFile } from "../../harness/preflight/files.ts";

const ORT_BIN = join(import.meta.dirname, "../../node_modules/onnxruntime-node/bin/napi-v6/linux");
const file = (path: string, bytes?: Uint8Array): FunctionFile => ({
  path,
  kind: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: bytes?.length ?? 0,
  bytes,
});
const x64 = file(
  "/var/task/node_modules/onnxruntime-node/x64/onnxruntime_binding.node",
  readFileSync(join(ORT_BIN, "x64/onnxruntime_binding.node")),
);
const arm = file(
  "/var/task/node_modules/onnxruntime-node/arm64/onnxruntime_binding.node",
  readFileSync(join(ORT_BIN, "arm64/onnxruntime_binding.node")),
);
const js = file("/var/task/dist/runtime/handler.js", new TextEncoder().encode("export {}"));

describe("preflight --arch", () => {
  it("reads e_machine: 62 for x86-64, 183 for aarch64, nothing for other files", () => {
    expect([
      elfMachine(x64.bytes as Uint8Array),
      elfMachine(arm.bytes as Uint8Array),
      elfMachine(js.bytes as Uint8Array),
    ]).toEqual([62, 183, undefined]);
  });

  it("passes when every native file matches the target", () => {
    expect(archCheck([x64, js], "x86_64")).toEqual({
      name: "architecture",
      status: "pass",
      summary: "all 1 native files are x86-64 (x86_64)",
      details: [],
    });
    expect(archCheck([arm, js], "arm64").status).toBe("pass");
  });

  it("fails an x86-64 file in an arm64 bundle, naming it and saying how to stage for arm64", () => {
    expect(archCheck([x64, arm, js], "arm64")).toEqual({
      name: "architecture",
      status: "fail",
      summary:
        '1 of 2 native files are not aarch64, so they cannot load on arm64 ("Exec format error") — stage the dependencies for it (harness/emulator/stage-deps.sh arm64) and build the image with --platform linux/arm64',
      details: ["/var/task/node_modules/onnxruntime-node/x64/onnxruntime_binding.node is x86-64"],
    });
  });
});
