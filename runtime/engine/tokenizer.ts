/**
 * CLIP tokenization through @huggingface/tokenizers, padded and truncated to the model's context exactly
 * as diffusers' pipelines call `CLIPTokenizer(prompt, padding="max_length", max_length=77,
 * truncation=True)`. A folder's `tokenizer.json` is used when present; otherwise (the Hub layout:
 * `vocab.json` + `merges.txt`) the tokenizer.json that transformers' CLIPTokenizer builds from those files
 * is built here. Where the JS library differs from the Rust one transformers runs, `CORRECTIONS` says so.
 */
import { Tokenizer } from "@huggingface/tokenizers";

export interface TokenizerFiles {
  /** Parsed `tokenizer/tokenizer.json`; when absent, `vocab` and `merges` are required. */
  readonly tokenizerJson?: TokenizerJson | undefined;
  readonly vocab?: Record<string, number> | undefined;
  /** `merges.txt` as text (`#version` header included or not). */
  readonly merges?: string | undefined;
  /** `tokenizer_config.json` merged over `special_tokens_map.json` (either may be empty). */
  readonly tokenizerConfig: Record<string, unknown>;
}

export interface TokenizerJson {
  added_tokens?: { id: number; content: string; special?: boolean; normalized?: boolean }[];
  normalizer?: { type: string; normalizers?: { type: string }[] } | null;
  pre_tokenizer?: { type: string; pretokenizers?: Record<string, unknown>[] } | null;
  model: { vocab: Record<string, number>; [key: string]: unknown };
  [key: string]: unknown;
}

/** GPT-2's split, which the Rust ByteLevel pre-tokenizer applies with use_regex (Rust regex syntax). */
const BYTE_LEVEL_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/**
 * Every place where @huggingface/tokenizers 0.2.0 (JS) gives other ids than the Rust `tokenizers` that
 * transformers' CLIPTokenizer runs, and how the definition is rewritten so both agree. Each has a test
 * in test/integration/tokenizer.test.ts ("corrections").
 */
export const CORRECTIONS = [
  {
    name: "lowercase per character",
    why: "JS toLowerCase maps a word-final Σ to ς; Rust lowercases each character (σ)",
    rewrite(json: TokenizerJson): void {
      const seq = json.normalizer;
      if (seq?.type === "Sequence" && seq.normalizers)
        seq.normalizers = seq.normalizers.filter((n) => n.type !== "Lowercase");
      else if (seq?.type === "Lowercase") json.normalizer = null;
    },
  },
  {
    name: "byte-level split in Rust regex syntax",
    why: "the JS ByteLevel regex uses JS \\s, which includes U+FEFF, so U+FEFF beside punctuation splits differently",
    rewrite(json: TokenizerJson): void {
      const pre = json.pre_tokenizer;
      const list = pre?.type === "Sequence" ? (pre.pretokenizers ?? []) : pre ? [pre] : [];
      const at = list.findIndex((p) => p.type === "ByteLevel" && p.use_regex !== false);
      if (at < 0) return;
      // the library translates a Split pattern from Rust syntax (\s = White_Space, without U+FEFF)
      list.splice(
        at,
        1,
        { type: "Split", pattern: { Regex: BYTE_LEVEL_REGEX }, behavior: "Isolated", invert: false },
        { ...list[at], use_regex: false },
      );
      json.pre_tokenizer = { type: "Sequence", pretokenizers: list };
    },
  },
  {
    name: "non-normalized special tokens matched on the raw text only",
    why: "JS also matches text that only normalizes to one (<|ENDOFTEXT|> next to another special token or a ! pad); Rust matches them on the raw text",
    rewrite(json: TokenizerJson): void {
      // ClipTokenizer splits the raw text on them itself (#split); the library keeps the normalized ones
      json.added_tokens = (json.added_tokens ?? []).filter((t) => t.normalized === true);
    },
  },
] as const;

export class ClipTokenizer {
  readonly maxLength: number;
  readonly vocabSize: number;
  readonly #tokenizer: Tokenizer;
  readonly #bos: number;
  readonly #eos: number;
  readonly #padId: number;
  /** Added tokens matched on the raw text, longest first (leftmost-longest like Rust's aho-corasick). */
  readonly #special: readonly { content: string; id: number }[];

  constructor(files: TokenizerFiles) {
    const config = files.tokenizerConfig;
    const json = structuredClone(files.tokenizerJson ?? buildClipJson(files, config));
    const vocab = json.model.vocab;
    const idOf = (field: string, fallback: string): number => {
      const text = tokenText(config[field]) ?? fallback;
      const id = vocab[text];
      if (id === undefined)
        throw new Error(`${field} ${JSON.stringify(text)} is not in the tokenizer's vocabulary`);
      return id;
    };
    this.#bos = idOf("bos_token", "<|startoftext|>");
    this.#eos = idOf("eos_token", "<|endoftext|>");
    this.#padId = tokenText(config.pad_token) === undefined ? this.#eos : idOf("pad_token", "");
    this.#special = (json.added_tokens ?? [])
      .filter((t) => t.normalized !== true)
      .map((t) => ({ content: t.content, id: t.id }))
      .sort((a, b) => b.content.length - a.content.length);
    for (const correction of CORRECTIONS) correction.rewrite(json);
    this.#tokenizer = new Tokenizer(json, config);
    this.vocabSize = Object.keys(vocab).length;
    const max = config.model_max_length;
    this.maxLength = typeof max === "number" && max < 10_000 ? max : 77;
  }

  /** The raw text split on special tokens: each piece is a token id or text for BPE. */
  #split(text: string): (string | number)[] {
    const out: (string | number)[] = [];
    let start = 0;
    let i = 0;
    while (i < text.length) {
      const hit = this.#special.find((s) => text.startsWith(s.content, i));
      if (!hit) {
        i++;
        continue;
      }
      if (i > start) out.push(text.slice(start, i));
      out.push(hit.id);
      i += hit.content.length;
      start = i;
    }
    if (start < text.length) out.push(text.slice(start));
    return out;
  }

  #ids(text: string): number[] {
    const ids = [this.#bos];
    for (const piece of this.#split(text)) {
      if (typeof piece === "number") ids.push(piece);
      // CORRECTIONS[0]: the Lowercase normalizer was removed; per character, after the rest
      else ids.push(...this.#tokenizer.encode(lowerEach(piece), { add_special_tokens: false }).ids);
    }
    ids.push(this.#eos);
    return ids;
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

/**
 * Rust's `char::to_lowercase` per code point (JS toLowerCase on one code point). Done before the rest of
 * CLIP's normalizer (NFC, `\s+`→" ") where Rust does it after: no letter lowercases to whitespace or to
 * something NFC composes differently.
 */
function lowerEach(text: string): string {
  let out = "";
  for (const c of text) out += c.toLowerCase();
  return out;
}

/**
 * The tokenizer.json that transformers' CLIPTokenizer (tokenizers backend) builds from vocab.json and
 * merges.txt: NFC → `\s+`→" " → lowercase, CLIP's split, byte-level, BPE with `</w>`, and
 * `<|startoftext|> … <|endoftext|>` around the ids.
 */
function buildClipJson(files: TokenizerFiles, config: Record<string, unknown>): TokenizerJson {
  if (!files.vocab || files.merges === undefined)
    throw new Error("need tokenizer.json or vocab.json + merges.txt");
  const bos = tokenText(config.bos_token) ?? "<|startoftext|>";
  const eos = tokenText(config.eos_token) ?? "<|endoftext|>";
  const unk = tokenText(config.unk_token) ?? eos;
  const literal = (s: string) => s.replace(/[|\\{}()[\]^$+*?.]/g, "\\$&");
  // transformers adds the special tokens, each `normalized` as its AddedToken dict says (a string: not)
  const added = new Map<string, { id: number; content: string; special: boolean; normalized: boolean }>();
  for (const field of ["bos_token", "eos_token", "unk_token", "pad_token"]) {
    const text = tokenText(config[field]);
    const id = text === undefined ? undefined : files.vocab[text];
    if (text === undefined || id === undefined || added.has(text)) continue;
    const token = config[field];
    const normalized =
      typeof token === "object" && token !== null && "normalized" in token && token.normalized === true;
    added.set(text, { id, content: text, special: true, normalized });
  }
  const merges = files.merges
    .split("\n")
    .filter((line, i) => line.trim() !== "" && !(i === 0 && line.startsWith("#version")));
  return {
    version: "1.0",
    added_tokens: [...added.values()],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "NFC" },
        { type: "Replace", pattern: { Regex: "\\s+" }, content: " " },
        { type: "Lowercase" },
      ] as { type: string }[],
    },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: {
            Regex: `${literal(bos)}|${literal(eos)}|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+`,
          },
          behavior: "Removed",
          invert: true,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: "RobertaProcessing",
      sep: [eos, files.vocab[eos]],
      cls: [bos, files.vocab[bos]],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: "",
      end_of_word_suffix: "</w>",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: files.vocab,
      merges,
    },
  };
}

export function tokenText(token: unknown): string | undefined {
  if (typeof token === "string") return token;
  if (token && typeof token === "object" && "content" in token && typeof token.content === "string")
    return token.content;
  return undefined;
}
