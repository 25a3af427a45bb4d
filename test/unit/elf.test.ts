import { describe, expect, test } from "vitest";
import { compareVersions, glibcVersion, isElf, readElf } from "../../harness/preflight/elf.ts";

/** A minimal ELF64 LE image: section headers for .dynstr, .dynamic and .gnu.version_r. */
function makeElf(): Uint8Array {
  const strings = "\0libm.so.6\0GLIBC_2.27\0GLIBC_2.2.5\0libc.so.6\0GLIBC_2.28\0";
  const str = (s: string) => strings.indexOf(`\0${s}\0`) + 1;
  const buf = new ArrayBuffer(1024);
  const v = new DataView(buf);
  const bytes = new Uint8Array(buf);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  const dynstr = 0x100;
  bytes.set(new TextEncoder().encode(strings), dynstr);
  const dynamic = 0x180; // DT_NEEDED libm, DT_NEEDED libc, DT_NULL
  v.setBigInt64(dynamic, 1n, true);
  v.setBigUint64(dynamic + 8, BigInt(str("libm.so.6")), true);
  v.setBigInt64(dynamic + 16, 1n, true);
  v.setBigUint64(dynamic + 24, BigInt(str("libc.so.6")), true);
  const verneed = 0x200; // libm: GLIBC_2.27, GLIBC_2.2.5; libc: GLIBC_2.28
  v.setUint16(verneed, 1, true);
  v.setUint16(verneed + 2, 2, true);
  v.setUint32(verneed + 4, str("libm.so.6"), true);
  v.setUint32(verneed + 8, 16, true);
  v.setUint32(verneed + 12, 48, true);
  v.setUint32(verneed + 16 + 8, str("GLIBC_2.27"), true);
  v.setUint32(verneed + 16 + 12, 16, true);
  v.setUint32(verneed + 32 + 8, str("GLIBC_2.2.5"), true);
  v.setUint16(verneed + 48, 1, true);
  v.setUint16(verneed + 50, 1, true);
  v.setUint32(verneed + 52, str("libc.so.6"), true);
  v.setUint32(verneed + 56, 16, true);
  v.setUint32(verneed + 64 + 8, str("GLIBC_2.28"), true);
  const shoff = 0x300;
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, 4, true);
  const section = (i: number, type: number, offset: number, size: number, link: number, info: number) => {
    const at = shoff + i * 64;
    v.setUint32(at + 4, type, true);
    v.setBigUint64(at + 0x18, BigInt(offset), true);
    v.setBigUint64(at + 0x20, BigInt(size), true);
    v.setUint32(at + 0x28, link, true);
    v.setUint32(at + 0x2c, info, true);
  };
  section(1, 3, dynstr, strings.length, 0, 0);
  section(2, 6, dynamic, 48, 1, 0);
  section(3, 0x6ffffffe, verneed, 80, 1, 2);
  return bytes;
}

describe("readElf", () => {
  test("reads DT_NEEDED and the verneed table", () => {
    expect(readElf(makeElf())).toEqual({
      needed: ["libm.so.6", "libc.so.6"],
      versionNeeds: [
        { file: "libm.so.6", versions: ["GLIBC_2.27", "GLIBC_2.2.5"] },
        { file: "libc.so.6", versions: ["GLIBC_2.28"] },
      ],
    });
  });

  test("refuses what is not ELF, naming the file", () => {
    expect(isElf(new Uint8Array([1, 2, 3, 4]))).toBe(false);
    expect(() => readElf(new Uint8Array(64), "x.node")).toThrow(
      "x.node is not an ELF file (no \\x7fELF magic)",
    );
  });

  test("compares glibc versions numerically", () => {
    expect(glibcVersion("GLIBC_2.27")).toEqual([2, 27]);
    expect(glibcVersion("GLIBCXX_3.4.22")).toBeUndefined();
    expect(compareVersions([2, 27], [2, 26])).toBeGreaterThan(0);
    expect(compareVersions([2, 2, 5], [2, 26])).toBeLessThan(0);
  });
});
