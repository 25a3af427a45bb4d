// Which saved optimised graph a host may open: the key names the onnxruntime version, the architecture
// and the CPU's kernel flags, so a graph saved on one kind of host is never opened on another.
import { describe, expect, it } from "vitest";
import { runtimeConfig } from "../../runtime/config.ts";
import { graphKey, optimizedGraphPath, savedGraphTuning } from "../../runtime/engine/optimized-graph.ts";

const cpuinfo = (flags: string) =>
  `processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: ${flags}\nbugs\t\t: sysret_ss_attrs\n`;
const AVX2 = "fpu vme sse sse2 ssse3 sse4_1 sse4_2 avx f16c fma avx2 bmi2 sha_ni";
const AVX512 = `${AVX2} avx512f avx512dq avx512bw avx512vl avx512_vnni`;

describe("saved optimised graphs", () => {
  it("keys a graph by onnxruntime version, architecture and the CPU's kernel flags", () => {
    const avx2 = graphKey("1.30.0", "x64", cpuinfo(AVX2));
    expect(avx2).toMatch(/^ort1\.30\.0-x64-avx2-[0-9a-f]{8}$/);
    expect(graphKey("1.30.0", "x64", cpuinfo(AVX512))).toMatch(/^ort1\.30\.0-x64-avx512-[0-9a-f]{8}$/);
    // the same CPU listed in another order, or with flags no kernel dispatches on, is the same host kind
    expect(
      graphKey("1.30.0", "x64", cpuinfo(`${AVX2.split(" ").reverse().join(" ")} hypervisor rdrand`)),
    ).toBe(avx2);
    // one more kernel flag, or another onnxruntime, is not
    expect(graphKey("1.30.0", "x64", cpuinfo(`${AVX2} avx_vnni`))).not.toBe(avx2);
    expect(graphKey("1.31.0", "x64", cpuinfo(AVX2))).not.toBe(avx2);
    expect(
      graphKey("1.30.0", "arm64", "Features\t: fp asimd evtstrm aes crc32 asimddp sve i8mm bf16\n"),
    ).toMatch(/^ort1\.30\.0-arm64-sve-[0-9a-f]{8}$/);
    expect(graphKey("1.30.0", "x64", "")).toMatch(/^ort1\.30\.0-x64-base-/);
  });

  it("keeps each part's graph beside it, under optimized/<key>/", () => {
    expect(optimizedGraphPath("/mnt/fs/models/sd/unet/model.onnx", "ort1.30.0-x64-avx2-0a1b2c3d")).toBe(
      "/mnt/fs/models/sd/unet/optimized/ort1.30.0-x64-avx2-0a1b2c3d/model.onnx",
    );
  });

  it("opens every saved graph as already optimised; the UNet keeps an arena, and packs its weights when it runs more than once", () => {
    const mapped = { optimizationLevel: "disabled", prepacking: false };
    const unet = "/mnt/fs/models/sd/unet/model.onnx";
    expect(savedGraphTuning(unet)).toEqual({ ...mapped, memArena: true });
    expect(savedGraphTuning(unet, 1)).toEqual({ ...mapped, memArena: true });
    expect(savedGraphTuning(unet, 32)).toEqual({ ...mapped, memArena: true, prepacking: true });
    for (const part of ["text_encoder", "vae_decoder", "vae_encoder"])
      expect(savedGraphTuning(`/mnt/fs/models/sd/${part}/model.onnx`, 32)).toEqual(mapped);
  });

  it("SD_OPTIMIZED_GRAPHS: use by default, save or off when set", () => {
    expect(runtimeConfig({}).graphs).toBe("use");
    expect(runtimeConfig({ SD_OPTIMIZED_GRAPHS: "save" }).graphs).toBe("save");
    expect(runtimeConfig({ SD_OPTIMIZED_GRAPHS: "off" }).graphs).toBe("off");
  });
});
