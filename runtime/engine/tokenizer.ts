/**
 * CLIP tokenization through @huggingface/tokenizers (the tokenizer.json every diffusers/Optimum export
 * ships), padded and truncated to the model's context exactly as diffusers' pipelines call
 * `CLIPTokenizer(prompt, padding="max_length", max_length=77, truncation=True)`.
 */
import { Tokenizer } from "@huggingface/tokenizers";

export interface TokenizerFiles {
  /** Parsed `tokenizer/tokenizer.json`. */
  readonly tokenizerJson: object;
  /** Parsed `tokenizer/tokenizer_config.json`. */
  readonly tokenizerConfig: Record<string, unknown>;
}

export class ClipTokenizer {
  readonly maxLength: number;
  readonly #tokenizer: Tokenizer;
  readonly #padId: number;

  constructor(files: TokenizerFiles) {
    this.#tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    const max = files.tokenizerConfig.model_max_length;
    this.maxLength = typeof max === "number" && max < 10_000 ? max : 77;
    const pad =
      tokenText(files.tokenizerConfig.pad_token) ??
      tokenText(files.tokenizerConfig.eos_token) ??
      "<|endoftext|>";
    const padId = this.#tokenizer.token_to_id(pad);
    if (padId === undefined)
      throw new Error(`pad token ${JSON.stringify(pad)} is not in the tokenizer's vocabulary`);
    this.#padId = padId;
  }

  /**
   * @huggingface/tokenizers 0.2.0 turns a prompt that only *normalizes* to a special token (like
   * "<|ENDOFTEXT|>") into that token, where transformers runs BPE on it; those go through BPE here.
   */
  #ids(text: string): number[] {
    const t = this.#tokenizer;
    const normalized = t.normalizer ? t.normalizer(text) : text;
    const special = normalized !== text && t.token_to_id(normalized) !== undefined;
    if (!special || !t.model || !t.pre_tokenizer) return t.encode(text, { add_special_tokens: true }).ids;
    const pieces = t.model(t.pre_tokenizer(normalized));
    const bos = t.encode("", { add_special_tokens: true }).ids;
    return [
      bos[0] as number,
      ...pieces.map((p: string) => t.token_to_id(p) as number),
      bos[bos.length - 1] as number,
    ];
  }

  /** Token ids of `text`, exactly `maxLength` long; `truncated` says whether tokens were cut. */
  encode(text: string): { ids: number[]; tokenCount: number; truncated: boolean } {
    const all = this.#ids(text);
    const truncated = all.length > this.maxLength;
    // Truncation keeps the end-of-text token last, as the fast tokenizer's post-processor does.
    const ids = truncated ? [...all.slice(0, this.maxLength - 1), all[all.length - 1] as number] : [...all];
    while (ids.length < this.maxLength) ids.push(this.#padId);
    return { ids, tokenCount: all.length, truncated };
  }
}

function tokenText(token: unknown): string | undefined {
  if (typeof token === "string") return token;
  if (token && typeof token === "object" && "content" in token && typeof token.content === "string")
    return token.content;
  return undefined;
}
