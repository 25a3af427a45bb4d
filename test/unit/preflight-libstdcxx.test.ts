// Preflight's libstdc++ check (GLIBCXX_/CXXABI_ version needs against the runtime's GCC) and the ONNX
// external-data reader, on the bundle's real native files and committed fixtures.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { ROOT } from "../../harness/emulator/stack.ts";
import { symbolVersion } from "../../harness/preflight/elf.ts";
import {
  bytesSource,
  externalDataLocations,
  externalDataOfFile,
  libstdcxxCheck,
  newestNeed,
  RUNTIMES,
  readElf,
} from "../../harness/preflight/index.ts";

const ORT = join(ROOT, "node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1");
const natives = [{ path: "/var/task/libonnxruntime.so.1", elf: readElf(readFileSync(ORT), ORT) }];

/** What a library built with GCC 12 (Debian bookworm, the stand-in base) can ask for. */
const gcc12 = {
  needed: ["libstdc++.so.6"],
  versionNeeds: [
    { file: "libstdc++.so.6", versions: ["GLIBCXX_3.4.30", "GLIBCXX_3.4.21", "CXXABI_1.3.13"] },
    { file: "libgcc_s.so.1", versions: ["GCC_3.0"] },
  ],
};

describe("libstdcxxCheck", () => {
  test("Amazon Linux 2023 (GCC 11) and 2 (GCC 7.3) provide what libstdc++ documents", () => {
    expect(RUNTIMES["nodejs24.x"]?.libstdcxx).toEqual({ gcc: "11", glibcxx: "3.4.29", cxxabi: "1.3.13" });
    expect(RUNTIMES["nodejs18.x"]?.libstdcxx).toEqual({ gcc: "7.3", glibcxx: "3.4.24", cxxabi: "1.3.11" });
  });

  test("onnxruntime-node's library needs at most GLIBCXX_3.4.22 and CXXABI_1.3.11: fine on nodejs24.x", () => {
    expect(newestNeed(natives, "GLIBCXX")).toBe("GLIBCXX_3.4.22");
    expect(libstdcxxCheck(natives, "nodejs24.x")).toEqual({
      name: "libstdc++",
      status: "pass",
      summary:
        "1 native files need at most GLIBCXX_3.4.22 and CXXABI_1.3.11 (nodejs24.x, Amazon Linux 2023: GCC 11's libstdc++ provides up to GLIBCXX_3.4.29 and CXXABI_1.3.13)",
      details: [],
    });
  });

  test("a library built with GCC 12 fails on Amazon Linux 2023, naming the file, the versions and the library", () => {
    const check = libstdcxxCheck([...natives, { path: "/var/task/x.node", elf: gcc12 }], "nodejs24.x");
    expect(check.status).toBe("fail");
    expect(check.summary).toBe(
      "1 of 2 native files need a newer libstdc++ than nodejs24.x has (Amazon Linux 2023: GCC 11's libstdc++ provides up to GLIBCXX_3.4.29 and CXXABI_1.3.13) — they would fail to load with \"version `GLIBCXX_…' not found\"; build them with GCC 11 or older (as on Amazon Linux 2023), or ship the libstdc++.so.6 they were built with in the image and put its folder on LD_LIBRARY_PATH",
    );
    expect(check.details).toEqual(["/var/task/x.node needs GLIBCXX_3.4.30 from libstdc++.so.6"]);
  });

  test("on Amazon Linux 2 the C++ ABI version fails too", () => {
    expect(libstdcxxCheck([{ path: "/x.node", elf: gcc12 }], "nodejs18.x").details).toEqual([
      "/x.node needs GLIBCXX_3.4.30 from libstdc++.so.6",
      "/x.node needs CXXABI_1.3.13 from libstdc++.so.6",
    ]);
  });

  test("version names of one family only", () => {
    expect(symbolVersion("GLIBCXX_3.4.29", "GLIBCXX")).toEqual([3, 4, 29]);
    expect(symbolVersion("GLIBCXX_3.4.29", "GLIBC")).toBeUndefined();
    expect(symbolVersion("CXXABI_TM_1", "CXXABI")).toBeUndefined();
  });
});

describe("ONNX external data", () => {
  test("the locations a real export names (initializer and Constant node tensors)", () => {
    expect(externalDataOfFile(join(ROOT, "fixtures/preflight/external-data/model.onnx"))).toEqual([
      "constant.onnx_data",
      "weights.onnx_data",
    ]);
  });

  test("models with their weights inside name none (tiny-sd's four)", () => {
    for (const part of ["text_encoder", "unet", "vae_decoder", "vae_encoder"])
      expect(externalDataOfFile(join(ROOT, `fixtures/models/tiny-sd/${part}/model.onnx`)), part).toEqual([]);
  });

  test("a truncated protobuf is refused, naming the file", () => {
    const bytes = readFileSync(join(ROOT, "fixtures/preflight/external-data/model.onnx"));
    expect(() => externalDataLocations(bytesSource(bytes.subarray(0, 200)))).toThrow(
      /runs past its message|ends inside a field/,
    );
  });
});
