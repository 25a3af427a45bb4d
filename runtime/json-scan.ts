/**
 * A look at a JSON text before JSON.parse sees it, without recursion and without building anything:
 * nesting deeper than the limit is refused (4,400 levels used to overflow the stack further on), and
 * a key given twice in one object is refused instead of silently taking its last value, and so is an
 * object with more keys than any request could need. Syntax errors
 * are left to JSON.parse, which names the position.
 */
import { clipText } from "./clip.ts";
import { BadRequestError } from "./errors.ts";

/** No request field needs more than two levels; 32 leaves room for envelopes and client quirks. */
export const MAX_JSON_DEPTH = 32;
/** The request has 12 fields; parsing and validating 400,000 keys took seconds. */
export const MAX_JSON_KEYS = 256;

export function scanJson(text: string, maxDepth = MAX_JSON_DEPTH): void {
  // one entry per open container: the keys seen so far for an object, null for an array
  const open: (Set<string> | null)[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++;
        } else if (d === 0x22) break;
      }
      if (i >= n) return; // unterminated string: JSON.parse says where
      const keys = open[open.length - 1];
      if (expectKey && keys) {
        const raw = text.slice(start, i);
        let key = raw;
        if (escaped) {
          try {
            key = JSON.parse(`"${raw}"`) as string;
          } catch {
            return; // a bad escape: JSON.parse says where
          }
        }
        if (keys.has(key)) {
          throw new BadRequestError(
            `request body has the key ${clipText(JSON.stringify(key), 40)} twice in one object (at character ${start - 1}); send each field once`,
            { field: key },
          );
        }
        keys.add(key);
        if (keys.size > MAX_JSON_KEYS) {
          throw new BadRequestError(
            `request body has more than ${MAX_JSON_KEYS} keys in one object (at character ${start - 1}); the request has 12 fields`,
            { field: "body", limit: MAX_JSON_KEYS },
          );
        }
        expectKey = false;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      open.push(c === 0x7b ? new Set() : null);
      if (open.length > maxDepth) {
        throw new BadRequestError(
          `request body nests objects and arrays more than ${maxDepth} levels deep (at character ${i}); the limit is ${maxDepth}`,
          { field: "body", limit: maxDepth },
        );
      }
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = open[open.length - 1] instanceof Set;
    }
  }
}
