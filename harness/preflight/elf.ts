/**
 * A small ELF reader (pure, no I/O): the shared libraries a `.so`/`.node` file needs (DT_NEEDED) and the
 * symbol versions it needs from each of them (`.gnu.version_r` verneed entries, names from `.dynstr`) —
 * what `readelf -V` prints under "Version needs". Enough to tell, before deploy, that a native module
 * asks for GLIBC_2.27 from libm.so.6 where the runtime only has glibc 2.26.
 */

export interface VersionNeed {
  /** The library the versions are needed from, e.g. `libm.so.6`. */
  readonly file: string;
  /** Version names, e.g. `GLIBC_2.27`, in file order. */
  readonly versions: readonly string[];
}

export interface ElfInfo {
  readonly needed: readonly string[];
  readonly versionNeeds: readonly VersionNeed[];
}

export class ElfError extends Error {
  readonly code = "ELF";
}

const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1n;

/** True when the bytes start with the ELF magic. */
export function isElf(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46
  );
}

interface Section {
  readonly type: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  readonly info: number;
}

/** Reads DT_NEEDED and the verneed table of a 64-bit little-endian ELF file (x86-64, arm64 Linux). */
export function readElf(bytes: Uint8Array, name = "file"): ElfInfo {
  if (!isElf(bytes)) throw new ElfError(`${name} is not an ELF file (no \\x7fELF magic)`);
  if (bytes[4] !== 2 || bytes[5] !== 1)
    throw new ElfError(
      `${name}: only 64-bit little-endian ELF is supported (class ${bytes[4]}, data ${bytes[5]})`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (offset: number, length: number, what: string) => {
    if (offset < 0 || offset + length > bytes.length)
      throw new ElfError(
        `${name}: ${what} at ${offset}+${length} is outside the file (${bytes.length} bytes)`,
      );
  };
  need(0, 64, "ELF header");
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    need(at, 64, `section header ${i}`);
    sections.push({
      type: view.getUint32(at + 4, true),
      offset: Number(view.getBigUint64(at + 0x18, true)),
      size: Number(view.getBigUint64(at + 0x20, true)),
      link: view.getUint32(at + 0x28, true),
      info: view.getUint32(at + 0x2c, true),
    });
  }
  const stringAt = (table: Section | undefined, offset: number): string => {
    if (!table) throw new ElfError(`${name}: string table missing`);
    const start = table.offset + offset;
    need(start, 1, "string");
    let end = start;
    while (end < table.offset + table.size && bytes[end] !== 0) end++;
    return new TextDecoder().decode(bytes.subarray(start, end));
  };

  const needed: string[] = [];
  for (const dynamic of sections.filter((s) => s.type === SHT_DYNAMIC)) {
    need(dynamic.offset, dynamic.size, "dynamic section");
    for (let at = dynamic.offset; at + 16 <= dynamic.offset + dynamic.size; at += 16) {
      const tag = view.getBigInt64(at, true);
      if (tag === 0n) break;
      if (tag === DT_NEEDED)
        needed.push(stringAt(sections[dynamic.link], Number(view.getBigUint64(at + 8, true))));
    }
  }

  const versionNeeds: VersionNeed[] = [];
  for (const verneed of sections.filter((s) => s.type === SHT_GNU_VERNEED)) {
    const strings = sections[verneed.link];
    let at = verneed.offset;
    for (let i = 0; i < verneed.info; i++) {
      need(at, 16, "verneed entry");
      const count = view.getUint16(at + 2, true);
      const file = stringAt(strings, view.getUint32(at + 4, true));
      const versions: string[] = [];
      let aux = at + view.getUint32(at + 8, true);
      for (let j = 0; j < count; j++) {
        need(aux, 16, "vernaux entry");
        versions.push(stringAt(strings, view.getUint32(aux + 8, true)));
        const next = view.getUint32(aux + 12, true);
        if (next === 0) break;
        aux += next;
      }
      versionNeeds.push({ file, versions });
      const next = view.getUint32(at + 12, true);
      if (next === 0) break;
      at += next;
    }
  }
  return { needed, versionNeeds };
}

/** `GLIBC_2.27` → [2, 27]; undefined for other version names (GLIBCXX_…, GCC_…). */
export function glibcVersion(name: string): readonly number[] | undefined {
  return symbolVersion(name, "GLIBC");
}

/** The library families a version name can come from: glibc, libstdc++ (GLIBCXX), its C++ ABI (CXXABI). */
export type VersionFamily = "GLIBC" | "GLIBCXX" | "CXXABI";

/** `GLIBCXX_3.4.29` with family GLIBCXX → [3, 4, 29]; undefined for another family or a non-numeric name. */
export function symbolVersion(name: string, family: VersionFamily): readonly number[] | undefined {
  const match = new RegExp(`^${family}_(\\d+(?:\\.\\d+)*)$`).exec(name);
  return match ? (match[1] as string).split(".").map(Number) : undefined;
}

export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}
