/**
 * Every file a model folder holds or references — the folder tree plus the external-data files its
 * ONNX files name — checked for what the function will need from them as uid 993 / gid 990: present and
 * readable (folders enterable). An unreadable external-data file on EFS otherwise shows up only as "not
 * a loadable ONNX model" from onnxruntime. Messages read like the function's own (runtime/engine/model.ts).
 */
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { type Check, LAMBDA_GID, LAMBDA_UID, readableByLambda } from "./checks.ts";
import type { FunctionFile } from "./files.ts";
import { externalDataOfFile } from "./onnx-external.ts";

export interface ModelFileFinding {
  readonly path: string;
  readonly problem: "unreadable" | "missing" | "malformed";
  readonly message: string;
}

function fileOf(path: string): FunctionFile {
  const s = lstatSync(path);
  return {
    path,
    kind: s.isSymbolicLink() ? "symlink" : s.isDirectory() ? "dir" : "file",
    mode: s.mode & 0o7777,
    uid: s.uid,
    gid: s.gid,
    size: s.size,
    bytes: undefined,
  };
}

/** The function's permission message (runtime/engine/model.ts), for a file on the EFS mount. */
export function unreadableMessage(file: FunctionFile): string {
  const mode = file.mode.toString(8).padStart(4, "0");
  const what = file.kind === "dir" ? "enter the folder" : "read";
  return `cannot ${what} ${file.path} as uid ${LAMBDA_UID} gid ${LAMBDA_GID}: mode ${mode} owner uid ${file.uid} gid ${file.gid} — make it world-readable (chmod o+r files, o+x folders) or set the EFS access point's POSIX user to uid ${file.uid} gid ${file.gid}, the owner`;
}

/** What is wrong with the folder's files and the external data its ONNX files name. */
export function modelFileFindings(dir: string): { files: number; findings: ModelFileFinding[] } {
  const findings: ModelFileFinding[] = [];
  const seen = new Set<string>();
  const look = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    const file = fileOf(path);
    if (!readableByLambda(file))
      findings.push({ path, problem: "unreadable", message: unreadableMessage(file) });
    if (file.kind === "dir") for (const name of readdirSync(path).sort()) look(join(path, name));
  };
  look(dir);
  for (const path of [...seen].filter((p) => p.endsWith(".onnx")).sort()) {
    let locations: string[];
    try {
      locations = externalDataOfFile(path);
    } catch (error) {
      findings.push({ path, problem: "malformed", message: (error as Error).message });
      continue;
    }
    for (const location of locations) {
      const data = join(dirname(path), location);
      if (!existsSync(data))
        findings.push({
          path: data,
          problem: "missing",
          message: `${relative(dir, path)} keeps its weights in ${location}, which is not in ${dirname(path)} — copy the whole export folder, external data included`,
        });
      else look(data);
    }
  }
  return { files: seen.size, findings };
}

export function modelFilesCheck(dir: string, limit = 20): Check {
  const { files, findings } = modelFileFindings(dir);
  if (findings.length === 0)
    return {
      name: "model files",
      status: "pass",
      summary: `all ${files} files and folders of ${dir} (external data included) are readable by uid ${LAMBDA_UID} gid ${LAMBDA_GID}`,
      details: [],
    };
  const shown = findings.slice(0, limit).map((f) => f.message);
  if (findings.length > limit) shown.push(`… and ${findings.length - limit} more`);
  return {
    name: "model files",
    status: "fail",
    summary: `${findings.length} of the files ${dir} holds or references cannot be loaded by the function (uid ${LAMBDA_UID} gid ${LAMBDA_GID} on Lambda)`,
    details: shown,
  };
}
