/**
 * The failure scenarios, in the order the README table and `scenarios --list` show them. Each provokes
 * one failure that bites on Lambda, in the emulator, and checks what Lambda does (quoted from AWS's
 * documentation) and the whole message the user gets. (Whether native libraries fit the runtime's
 * glibc and libstdc++ is preflight's job: nothing in the emulator could show it.)
 */
import { FUNCTION_SCENARIOS } from "./catalog-function.ts";
import { LIMIT_SCENARIOS } from "./catalog-limits.ts";
import type { Scenario } from "./scenario.ts";

export type { Scenario, ScenarioContext } from "./scenario.ts";

export const SCENARIOS: readonly Scenario[] = [...FUNCTION_SCENARIOS, ...LIMIT_SCENARIOS];
