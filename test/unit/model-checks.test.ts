// Load-time session checks on session metadata alone: every input is one the engine can feed, the
// outputs it reads exist, and the parts agree. Messages are asserted whole.
import { describe, expect, test } from "vitest";
import { checkSessions } from "../../runtime/engine/model-checks.ts";
import type { OnnxSession, TensorInfo } from "../../runtime/engine/ort.ts";

const session = (path: string, inputs: TensorInfo[], outputs: TensorInfo[]) =>
  ({ path, inputs, outputs }) as unknown as OnnxSession;
const t = (name: string, type: string, shape: (number | string)[]): TensorInfo => ({ name, type, shape });
const FIX = "re-export the model with optimum-cli export onnx (see the README's model families)";

const unetInputs = [
  t("sample", "float32", ["b", 4, "h", "w"]),
  t("timestep", "float32", []),
  t("encoder_hidden_states", "float32", ["b", "s", 768]),
];
const sessions = (unet: TensorInfo[], textOut = 768) => ({
  textEncoder: session(
    "/m/text_encoder/model.onnx",
    [t("input_ids", "int64", ["b", "s"])],
    [t("last_hidden_state", "float32", ["b", "s", textOut])],
  ),
  unet: session("/m/unet/model.onnx", unet, [t("out_sample", "float32", ["b", 4, "h", "w"])]),
  vaeDecoder: session(
    "/m/vae_decoder/model.onnx",
    [t("latent_sample", "float16", ["b", 4, "h", "w"])],
    [t("sample", "float16", ["b", 3, "H", "W"])],
  ),
  vaeEncoder: undefined,
});

describe("session checks", () => {
  test("an optimum export passes, fp16 parts included", () => {
    expect(checkSessions(sessions(unetInputs), 77)).toEqual({
      unetInChannels: 4,
      textHidden: 768,
      timestepCondDim: undefined,
      fixedLatent: undefined,
      notes: [],
    });
  });

  test("an input the engine does not feed is refused naming it", () => {
    expect(() =>
      checkSessions(sessions([...unetInputs, t("text_embeds", "float32", ["b", 1280])]), 77),
    ).toThrow(
      `/m/unet/model.onnx has input text_embeds: float32[b,1280] that the engine does not feed (it feeds sample, timestep, encoder_hidden_states, timestep_cond) — ${FIX}`,
    );
  });

  test("a dtype or rank it cannot feed is refused", () => {
    const inputs = [unetInputs[0] as TensorInfo, t("timestep", "int32", [1]), unetInputs[2] as TensorInfo];
    expect(() => checkSessions(sessions(inputs), 77)).toThrow(
      `/m/unet/model.onnx input timestep: int32[1] is not the timestep, a scalar or [batch] as float32/float16/int64 of rank 0 or 1 — ${FIX}`,
    );
  });

  test("text embeddings of another width are refused", () => {
    expect(() => checkSessions(sessions(unetInputs, 1024), 77)).toThrow(
      "/m/unet/model.onnx expects text embeddings 768 wide but text_encoder/model.onnx gives 1024 — the two come from different models",
    );
  });

  test("a UNet taking other than 4 or 9 channels is refused", () => {
    const inputs = [t("sample", "float32", ["b", 8, "h", "w"]), ...unetInputs.slice(1)];
    expect(() => checkSessions(sessions(inputs), 77)).toThrow(
      "/m/unet/model.onnx takes 8 latent channels; only 4 (text-to-image) and 9 (inpainting) are supported",
    );
  });

  test("LCM's timestep_cond width and a fixed-size UNet are read", () => {
    const inputs = [
      t("sample", "float32", [2, 4, 96, 96]),
      ...unetInputs.slice(1),
      t("timestep_cond", "float32", ["b", 256]),
    ];
    expect(checkSessions(sessions(inputs), 77)).toMatchObject({
      timestepCondDim: 256,
      fixedLatent: { width: 96, height: 96 },
      notes: ["the UNet was exported for 96x96 latents only"],
    });
  });
});
