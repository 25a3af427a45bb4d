/**
 * One bound for everything the function echoes back or logs: error messages, error details and log
 * values. A request can hold a 1.5 M-element array, 400,000 keys or 6 MB of base64; none of it may
 * reach a response or a log line unclipped (issue 9: responses over 6 MB, log lines of 5 M characters).
 */

/** The longest message a BadRequestError carries, whatever the input. */
export const MAX_MESSAGE_CHARS = 300;
/** Strings up to this length are quoted as they are; longer ones are described by their length. */
const SHOWN_STRING_CHARS = 40;
/** The longest string value a log line or an error detail carries. */
const MAX_LOG_STRING_CHARS = 300;
const MAX_LOG_ITEMS = 10;
const MAX_LOG_DEPTH = 3;

/** `text` cut to `max` characters (ending in "…"), never splitting a surrogate pair. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * A value as a message shows it, in a few dozen characters and without walking into it: short strings
 * quoted, numbers as written, containers by their size. Image data is never echoed, only its length.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "string") {
    return value.length <= SHOWN_STRING_CHARS
      ? clipText(JSON.stringify(value), 2 * SHOWN_STRING_CHARS)
      : `a string of ${value.length} characters`;
  }
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint")
    return clipText(String(value), SHOWN_STRING_CHARS);
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of ${value.length} ${value.length === 1 ? "item" : "items"}`;
  if (typeof value === "object") {
    let keys = 0;
    for (const _ in value) if (++keys > 1_000_000) break;
    return `an object with ${keys} ${keys === 1 ? "key" : "keys"}`;
  }
  return `a ${typeof value}`;
}

/** A value as an error detail carries it: primitives as they are (strings clipped), containers described. */
export function detailValue(value: unknown): unknown {
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (typeof value === "string" && value.length <= SHOWN_STRING_CHARS) return value;
  if (Array.isArray(value) && value.length <= 5 && value.every((v) => typeof v !== "object" || v === null))
    return value.map(detailValue);
  return describeValue(value);
}

/** `"a", "b", "c" and 399997 more`: the first few names, each clipped, then a count. */
export function listClipped(items: readonly string[], shown = 3): string {
  const head = items.slice(0, shown).map((k) => clipText(JSON.stringify(k), 24));
  return items.length > shown ? `${head.join(", ")} and ${items.length - shown} more` : head.join(", ");
}

/**
 * A copy of a log record with every string clipped, long arrays cut and nesting bounded, so a log
 * line stays a few kilobytes whatever the request held.
 */
export function clipForLog(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return clipText(value, MAX_LOG_STRING_CHARS);
  if (typeof value !== "object" || value === null) return typeof value === "bigint" ? String(value) : value;
  if (depth >= MAX_LOG_DEPTH) return describeValue(value);
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_LOG_ITEMS).map((v) => clipForLog(v, depth + 1));
    return value.length > MAX_LOG_ITEMS ? [...items, `… ${value.length - MAX_LOG_ITEMS} more`] : items;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (++n > 2 * MAX_LOG_ITEMS) {
      out["…"] = "more keys";
      break;
    }
    out[clipText(k, 60)] = clipForLog(v, depth + 1);
  }
  return out;
}
