/**
 * Preflight's architecture check (pure): each native file's ELF machine (`e_machine`) against the
 * function's architecture. An x86-64 `.node` in an arm64 image fails at import with "Exec format
 * error" — on Lambda, after the deploy; here, before it.
 */
import type { Check } from "./checks.ts";
import { isElf } from "./elf.ts";
import type { FunctionFile } from "./files.ts";

export type Architecture = "x86_64" | "arm64";

/** ELF e_machine values (System V ABI) of Lambda's two architectures. */
export const ELF_MACHINE: Readonly<Record<Architecture, number>> = { x86_64: 62, arm64: 183 };
const MACHINE_NAME: Readonly<Record<number, string>> = { 3: "x86", 40: "arm", 62: "x86-64", 183: "aarch64" };

/** e_machine of an ELF file (offset 0x12, little-endian), undefined for other files. */
export function elfMachine(bytes: Uint8Array): number | undefined {
  if (!isElf(bytes) || bytes.length < 0x14) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0x12, bytes[5] !== 2);
}

export function machineName(machine: number): string {
  return MACHINE_NAME[machine] ?? `e_machine ${machine}`;
}

export function archCheck(files: readonly FunctionFile[], architecture: Architecture, limit = 20): Check {
  const want = ELF_MACHINE[architecture];
  const natives = files.flatMap((f) => {
    const machine = f.bytes ? elfMachine(f.bytes) : undefined;
    return machine === undefined ? [] : [{ path: f.path, machine }];
  });
  const wrong = natives.filter((n) => n.machine !== want);
  if (wrong.length === 0)
    return {
      name: "architecture",
      status: "pass",
      summary: `all ${natives.length} native files are ${machineName(want)} (${architecture})`,
      details: [],
    };
  const shown = wrong.slice(0, limit).map((n) => `${n.path} is ${machineName(n.machine)}`);
  if (wrong.length > limit) shown.push(`… and ${wrong.length - limit} more`);
  const cpu = architecture === "arm64" ? "arm64" : "x64";
  return {
    name: "architecture",
    status: "fail",
    summary: `${wrong.length} of ${natives.length} native files are not ${machineName(want)}, so they cannot load on ${architecture} ("Exec format error") — stage the dependencies for it (harness/emulator/stage-deps.sh ${cpu}) and build the image with --platform ${architecture === "arm64" ? "linux/arm64" : "linux/amd64"}`,
    details: shown,
  };
}
