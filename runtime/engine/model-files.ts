/**
 * File access for model folders: readability checks, JSON reads and external-data files, each failure a
 * ModelError that names the path — and, for a file that exists but cannot be read, the mode, the owner
 * and the uid the function runs as.
 */
import { constants, statSync } from "node:fs";
import { access, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ModelError } from "../errors.ts";

/**
 * After a failed open: a missing or unreadable external-data file (`model.onnx_data`, `weights.pb`…)
 * is named as such instead of "not a loadable ONNX model". The names are read from the protobuf's
 * `external_data` entries ({key: "location", value: name}) with a byte scan.
 */
export async function checkExternalData(onnxPath: string): Promise<void> {
  const info = await stat(onnxPath).catch(() => undefined);
  if (!info || info.size > 256 * 1024 * 1024) return; // graphs with external data are small
  const bytes = await readFile(onnxPath);
  const key = Buffer.from("\n\blocation\x12", "latin1");
  const seen = new Set<string>();
  for (let at = bytes.indexOf(key); at >= 0; at = bytes.indexOf(key, at + 1)) {
    let length = 0;
    let shift = 0;
    let p = at + key.length;
    for (; p < bytes.length && shift < 28; p++, shift += 7) {
      length |= ((bytes[p] as number) & 0x7f) << shift;
      if (!((bytes[p] as number) & 0x80)) break;
    }
    seen.add(bytes.subarray(p + 1, p + 1 + length).toString("utf8"));
  }
  for (const location of seen) {
    const path = join(dirname(onnxPath), location);
    try {
      await access(path, constants.R_OK);
    } catch (cause) {
      throw fileError(
        path,
        cause,
        (cause as NodeJS.ErrnoException).code === "ENOENT"
          ? `${onnxPath} keeps its weights in ${location}, and ${path} does not exist — copy it beside model.onnx`
          : undefined,
      );
    }
  }
}

/** Refuses a file that is missing (with `layoutHint`) or unreadable (with mode, owner and uid). */
export async function checkReadable(path: string, dir: string, layoutHint: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const relative = path.slice(dir.length + 1);
    throw fileError(
      path,
      cause,
      code === "ENOENT" ? `model folder ${dir} has no ${relative} — ${layoutHint}` : undefined,
    );
  }
}

/** An fs failure as a ModelError; EACCES names mode, owner and the reading uid. */
export function fileError(path: string, cause: unknown, missingMessage: string | undefined): ModelError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === "EACCES") return permissionError(path, cause);
  return new ModelError(
    code === "ENOENT" || missingMessage ? "MODEL_NOT_FOUND" : "MODEL_UNREADABLE",
    missingMessage ?? `cannot read ${path}: ${String(cause)}`,
    {
      cause,
      details: { path },
    },
  );
}

function permissionError(path: string, cause: unknown): ModelError {
  const uid = process.getuid?.() ?? -1;
  const gid = process.getgid?.() ?? -1;
  let facts = "";
  let owner = "the owner";
  try {
    const s = statSync(path, { throwIfNoEntry: false });
    if (s) {
      facts = `: mode ${(s.mode & 0o7777).toString(8).padStart(4, "0")} owner uid ${s.uid} gid ${s.gid}`;
      owner = `uid ${s.uid} gid ${s.gid}, the owner`;
    }
  } catch {
    // a folder above may refuse the stat too; the message still names the path and the uid
  }
  // Lambda only mounts EFS under /mnt/; anything else is a file baked into the image
  const fix = path.startsWith("/mnt/")
    ? `make it world-readable (chmod o+r files, o+x folders) or set the EFS access point's POSIX user to ${owner}`
    : `the file is in the image and Lambda runs the code as uid ${uid}, not root: add \`RUN chmod -R o+rX ${path.split("/").slice(0, 3).join("/")}\` to the Dockerfile`;
  return new ModelError("MODEL_UNREADABLE", `cannot read ${path} as uid ${uid} gid ${gid}${facts} — ${fix}`, {
    cause,
    details: { path, uid, gid },
  });
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function readJson(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw fileError(path, cause, undefined);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    throw new ModelError("MODEL_INVALID", `${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      details: { path },
    });
  }
}

export async function readOptionalJson(path: string): Promise<Record<string, unknown>> {
  return (await exists(path)) ? readJson(path) : {};
}
