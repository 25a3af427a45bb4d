/** Where the scenarios find the committed tiny model. */
import { join } from "node:path";
import { ROOT } from "../emulator/stack.ts";

export const FIXTURE_MODELS = join(ROOT, "fixtures/models");
export const TINY_MODEL = join(FIXTURE_MODELS, "tiny-sd");
