/**
 * What a failure scenario is: the failure it provokes in the emulator, what Lambda does in that case (in
 * AWS's words, with the page), what the user sees, and — where the RIE does not do what Lambda does —
 * the harness's stand-in answer. `run` checks all of it against the real RIE.
 */

import type { LambdaContainerOptions } from "../emulator/lambda-container.ts";
import type { DocQuote } from "../emulator/lambda-stand-in.ts";
import { functionError } from "./lambda-service.ts";
import type { Sandbox } from "./sandbox.ts";

export type { DocQuote } from "../emulator/lambda-stand-in.ts";

export interface ScenarioContext {
  readonly docker: NodeJS.ProcessEnv;
  /** The default function container (10,240 MB, 300 s, tiny-sd mounted), held by one scenario at a time. */
  shared(): Promise<Sandbox>;
  /** A container of the scenario's own, removed when the scenario ends. */
  start(options: LambdaContainerOptions & { writableRoot?: boolean }): Promise<Sandbox>;
  /** A temporary folder removed when the scenario ends. */
  temp(prefix: string): string;
  check(
    what: string,
    actual: unknown,
    expected: string | RegExp | boolean | number | object | undefined,
  ): void;
  note(text: string): void;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly provoke: string;
  /** What Lambda does here, quoted from its documentation. */
  readonly lambda: readonly DocQuote[];
  /** What the user sees in the emulator (checked by `run`). */
  readonly sees: string;
  /** Where the harness answers in Lambda's place because the RIE does not, and how. */
  readonly standIn?: string;
  /** Uses the shared container (runs alone on it). */
  readonly shared?: boolean;
  run(ctx: ScenarioContext): Promise<void>;
}

export const SMALL = { prompt: "a red fox", num_inference_steps: 2, seed: 1 };

/** The error of a direct invoke, as "errorType: errorMessage". */
export function errorOf(body: unknown): string {
  const error = functionError(body);
  return error
    ? `${error.errorType}: ${error.errorMessage}`
    : `no function error in ${JSON.stringify(body)?.slice(0, 200)}`;
}

/** Polls `condition` every 50 ms until it holds; throws naming `what` after `timeoutMs`. */
export async function until(what: string, condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The pages the scenarios quote. */
export const AWS = {
  invoke: "https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html",
  lifecycle: "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html",
  images: "https://docs.aws.amazon.com/lambda/latest/dg/images-create.html",
  limits: "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
  timeout: "https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html",
  filesystem: "https://docs.aws.amazon.com/lambda/latest/dg/configuration-filesystem.html",
  efsAccessPoints: "https://docs.aws.amazon.com/efs/latest/ug/efs-access-points.html",
  runtimeError: "https://repost.aws/knowledge-center/lambda-runtime-error",
} as const;
