/**
 * Model location `image`: the model baked into the function image (runtime/Dockerfile target
 * `model-in-image`, MNT_DIR=/opt/sd-lambda). The folder is copied to .cache/image-model first with every
 * file world-readable, so the image's COPY layer holds it once — a `RUN chmod -R` in the Dockerfile
 * would store every byte a second time — and uid 993 can read it (the seed article's PermissionError).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { basename, join, resolve } from "node:path";

/** The repository root (not imported from stack.ts, which imports this module). */
const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const IMAGE_MODEL_DIR = join(ROOT, ".cache/image-model");

export function stageImageModel(from: string, name: string): void {
  rmSync(IMAGE_MODEL_DIR, { recursive: true, force: true });
  mkdirSync(IMAGE_MODEL_DIR, { recursive: true });
  cpSync(from, join(IMAGE_MODEL_DIR, name), { recursive: true, dereference: true });
  execFileSync("chmod", ["-R", "a+rX", IMAGE_MODEL_DIR]);
}

/** Builds `sd-lambda/function:model-<name>` for the emulator (this machine's platform); returns the tag. */
export function buildModelImage(
  modelDir: string,
  env: NodeJS.ProcessEnv,
  baseImage: string,
  say: (line: string) => void,
): string {
  const name = basename(resolve(modelDir));
  stageImageModel(modelDir, name);
  const tag = `sd-lambda/function:model-${name.toLowerCase()}`;
  say(`building ${tag} (runtime/Dockerfile target model-in-image, ${name} under /opt/sd-lambda/models)`);
  const args = ["build", "-q", "--target", "model-in-image", "-f", "runtime/Dockerfile"];
  args.push("--build-arg", `BASE_IMAGE=${baseImage}`, "-t", tag, ".");
  const built = spawnSync("docker", args, { cwd: ROOT, env, encoding: "utf8" });
  if (built.status !== 0)
    throw new Error(`docker ${args.join(" ")} exited with ${built.status ?? built.signal}: ${built.stderr}`);
  return tag;
}
