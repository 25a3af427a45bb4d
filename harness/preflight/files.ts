/**
 * The files of a function as Lambda will hold them under /var/task, from either a built bundle on this
 * machine (dist/ + the staged production node_modules, as runtime/Dockerfile copies them) or an image
 * (`docker create` + `docker export`, read as a tar stream: modes, owners and the bytes of native files).
 */
import { spawn, spawnSync } from "node:child_process";
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface FunctionFile {
  /** Absolute path inside the function, e.g. /var/task/node_modules/…/libonnxruntime.so.1 */
  readonly path: string;
  readonly kind: "file" | "dir" | "symlink";
  /** Permission bits (0o7777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** The bytes, loaded only for native candidates (.so, .node). */
  readonly bytes: Uint8Array | undefined;
}

/** `.node` modules and `.so` / `.so.N…` libraries: the files a loader maps. */
export function isNativeCandidate(path: string): boolean {
  const base = path.split("/").pop() ?? path;
  return base.endsWith(".node") || /\.so(\.\d+)*$/.test(base);
}

/**
 * A bundle folder tree mapped into /var/task. `COPY` in runtime/Dockerfile keeps modes and makes root
 * the owner, so files are reported with uid/gid 0.
 */
export function bundleFiles(mapping: readonly { from: string; to: string }[]): FunctionFile[] {
  const files: FunctionFile[] = [];
  const walk = (from: string, to: string) => {
    const s = lstatSync(from);
    const kind = s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "dir" : "file";
    files.push({
      path: to,
      kind,
      mode: s.mode & 0o7777,
      uid: 0,
      gid: 0,
      size: s.size,
      bytes: kind === "file" && isNativeCandidate(to) ? readFileSync(from) : undefined,
    });
    if (kind === "dir") for (const name of readdirSync(from).sort()) walk(join(from, name), `${to}/${name}`);
  };
  for (const { from, to } of mapping) walk(from, to);
  return files;
}

/** The files under `root` (default /var/task) of a local image, read from `docker export`. */
export async function imageFiles(
  image: string,
  env: NodeJS.ProcessEnv,
  root = "/var/task",
): Promise<FunctionFile[]> {
  const created = spawnSync("docker", ["create", image], { env, encoding: "utf8" });
  if (created.status !== 0)
    throw new Error(
      `docker create ${image} failed: ${(created.stderr || "").trim() || `exit ${created.status}`}`,
    );
  const id = created.stdout.trim();
  try {
    const child = spawn("docker", ["export", id], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const reader = new TarReader(root);
    for await (const chunk of child.stdout) reader.push(chunk as Buffer);
    const code: number = await new Promise((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    if (code !== 0) throw new Error(`docker export ${id} failed: ${stderr.trim() || `exit ${code}`}`);
    return reader.files;
  } finally {
    spawnSync("docker", ["rm", "-f", id], { env, stdio: "ignore" });
  }
}

/** A streaming reader of ustar/pax/GNU tar: keeps headers under `root` and bytes of native files. */
export class TarReader {
  readonly files: FunctionFile[] = [];
  readonly #prefix: string;
  #buffer: Buffer = Buffer.alloc(0);
  #entry:
    | {
        file: Omit<FunctionFile, "bytes">;
        keep: "bytes" | "pax" | "longname" | "skip";
        left: number;
        padded: number;
        parts: Buffer[];
      }
    | undefined;
  #pax: Record<string, string> = {};
  #longName: string | undefined;

  constructor(root: string) {
    this.#prefix = root.replace(/^\/+|\/+$/g, "");
  }

  push(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      if (this.#entry) {
        const entry = this.#entry;
        const take = Math.min(entry.padded, this.#buffer.length);
        if (take === 0) return;
        const data = Math.min(take, entry.left);
        if (entry.keep !== "skip" && data > 0) entry.parts.push(this.#buffer.subarray(0, data));
        entry.left -= data;
        entry.padded -= take;
        this.#buffer = this.#buffer.subarray(take);
        if (entry.padded > 0) return;
        this.#entry = undefined;
        this.#finish(entry.file, entry.keep, Buffer.concat(entry.parts));
        continue;
      }
      if (this.#buffer.length < 512) return;
      const header = this.#buffer.subarray(0, 512);
      this.#buffer = this.#buffer.subarray(512);
      if (header.every((b) => b === 0)) continue;
      const text = (from: number, length: number) => {
        const raw = header.subarray(from, from + length);
        const end = raw.indexOf(0);
        return raw.subarray(0, end < 0 ? length : end).toString("utf8");
      };
      const octal = (from: number, length: number) => Number.parseInt(text(from, length).trim() || "0", 8);
      const type = String.fromCharCode(header[156] ?? 48);
      const size = this.#pax.size ? Number(this.#pax.size) : octal(124, 12);
      const ustarPrefix = text(257, 6) === "ustar" ? text(345, 155) : "";
      let name =
        this.#pax.path ?? this.#longName ?? (ustarPrefix ? `${ustarPrefix}/${text(0, 100)}` : text(0, 100));
      const keepMeta = type !== "x" && type !== "g" && type !== "L";
      if (keepMeta) {
        this.#pax = {};
        this.#longName = undefined;
      }
      name = name.replace(/^\.?\/+/, "").replace(/\/+$/, "");
      const under = name === this.#prefix || name.startsWith(`${this.#prefix}/`);
      const kind = type === "5" ? "dir" : type === "2" ? "symlink" : "file";
      const file = {
        path: `/${name}`,
        kind,
        mode: octal(100, 8) & 0o7777,
        uid: this.#pax.uid ? Number(this.#pax.uid) : octal(108, 8),
        gid: this.#pax.gid ? Number(this.#pax.gid) : octal(116, 8),
        size,
      } as const;
      const keep =
        type === "x"
          ? "pax"
          : type === "L"
            ? "longname"
            : under && kind === "file" && isNativeCandidate(name)
              ? "bytes"
              : "skip";
      if (
        keepMeta &&
        under &&
        (type === "0" || type === "\0" || type === "5" || type === "2" || type === "7")
      )
        if (keep !== "bytes") this.files.push({ ...file, bytes: undefined });
      this.#entry = { file, keep, left: size, padded: Math.ceil(size / 512) * 512, parts: [] };
      if (size === 0) {
        this.#entry = undefined;
        this.#finish(file, keep, Buffer.alloc(0));
      }
    }
  }

  #finish(file: Omit<FunctionFile, "bytes">, keep: string, data: Buffer): void {
    if (keep === "bytes") this.files.push({ ...file, bytes: data });
    else if (keep === "longname") this.#longName = data.toString("utf8").replace(/\0+$/, "");
    else if (keep === "pax") {
      for (const line of data.toString("utf8").split("\n")) {
        const match = /^\d+ ([^=]+)=(.*)$/.exec(line);
        if (match) this.#pax[match[1] as string] = match[2] as string;
      }
    }
  }
}
