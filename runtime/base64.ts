import { clipText } from "./clip.ts";
import { BadRequestError } from "./errors.ts";

/**
 * Strict base64 (standard or URL alphabet, whitespace allowed): Buffer.from would silently skip bad
 * characters and decode the rest. One linear pass (a regex here backtracks quadratically on whitespace).
 */
export function decodeBase64(text: string, field: string): Buffer {
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const space = c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
    const letter =
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2b ||
      c === 0x2f ||
      c === 0x2d ||
      c === 0x5f;
    if (c === 0x3d /* = */ && padding < 2) padding++;
    else if (space || (letter && padding === 0)) continue;
    else {
      const hint = text.startsWith("data:") ? ' — drop the "data:…;base64," prefix' : "";
      throw new BadRequestError(
        `${field} is not base64: character ${i} is ${clipText(JSON.stringify(text[i]), 12)}${hint}`,
        { field },
      );
    }
  }
  return Buffer.from(text, "base64");
}
