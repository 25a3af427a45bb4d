// The CLI's own behaviour: the verb list, --help for every verb, and the usage after an unknown flag.
import { describe, expect, it } from "vitest";
import { PREFLIGHT_USAGE } from "../../harness/commands/preflight.ts";
import { runCli } from "../helpers/cli.ts";

const VERBS = [
  "generate",
  "up",
  "down",
  "logs",
  "invoke",
  "golden",
  "scenarios",
  "preflight",
  "deploy",
  "models",
  "bench",
];

describe("sd-lambda", () => {
  it("without a verb lists every verb with one line each", async () => {
    const { code, stdout } = await runCli([]);
    expect(code).toBe(0);
    expect(stdout.split("\n")[0]).toBe("usage: sd-lambda <command> [options]");
    expect(stdout.match(/^ {2}\S+/gm)?.map((l) => l.trim())).toEqual(VERBS);
  });

  it("an unknown verb is named, the list follows on stderr, exit 2", async () => {
    const { code, stdout, stderr } = await runCli(["benchmark"]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(
      /^sd-lambda: unknown command "benchmark"\nusage: sd-lambda <command> \[options\]\n/,
    );
  });

  it.each(VERBS)("%s --help prints its usage and does nothing else", async (verb) => {
    const { code, stdout, stderr } = await runCli([verb, "--help"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(new RegExp(`^usage: sd-lambda ${verb}\\b[^]*\\n$`));
  });

  it("an unknown flag is named and the verb's usage follows", async () => {
    expect(await runCli(["preflight", "--bogus"])).toEqual({
      code: 1,
      stdout: "",
      stderr: `sd-lambda preflight: Unknown option '--bogus'\n${PREFLIGHT_USAGE}\n`,
    });
  });
});
