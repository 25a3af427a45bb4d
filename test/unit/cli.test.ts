// The CLI's own behaviour: the verb list, --version, --help and --json for every verb, exit code 2 for
// every usage error (unknown verb, unknown flag, a missing or conflicting flag) and 1 for a check that
// does not hold.
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { PREFLIGHT_USAGE } from "../../harness/commands/preflight.ts";
import { SCENARIOS } from "../../harness/scenarios/index.ts";
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
    expect(stdout.split("\n")[0]).toBe("usage: sd-lambda <command> [options]   (or --version)");
    expect(stdout.match(/^ {2}\S+/gm)?.map((l) => l.trim())).toEqual(VERBS);
  });

  it("an unknown verb is named, the list follows on stderr, exit 2", async () => {
    const { code, stdout, stderr } = await runCli(["benchmark"]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(
      /^sd-lambda: unknown command "benchmark"\nusage: sd-lambda <command> \[options\] {3}\(or --version\)\n/,
    );
  });

  it("an unknown option before any verb: exit 2", async () => {
    const { code, stdout, stderr } = await runCli(["--verbose"]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr.split("\n")[0]).toBe('sd-lambda: unknown option "--verbose"');
  });

  it("--version prints package.json's version, as text or JSON", async () => {
    expect(await runCli(["--version"])).toEqual({ code: 0, stdout: "sd-lambda 0.1.0\n", stderr: "" });
    const json = await runCli(["--version", "--json"]);
    expect(JSON.parse(json.stdout)).toEqual({ version: "0.1.0" });
  });

  it.each(VERBS)("%s --help prints its usage and does nothing else", async (verb) => {
    const { code, stdout, stderr } = await runCli([verb, "--help"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(new RegExp(`^usage: sd-lambda ${verb}\\b[^]*\\n$`));
    expect(stdout).toContain("--json");
  });

  // --json is a known flag of every verb: the error is about --bogus alone, before the verb does anything
  // a verb with subcommands takes its flags after the subcommand
  const SUBCOMMAND: Record<string, string[]> = { models: ["upload"] };
  it.each(VERBS)("%s takes --json; an unknown flag beside it is a usage error, exit 2", async (verb) => {
    const { code, stdout, stderr } = await runCli([verb, ...(SUBCOMMAND[verb] ?? []), "--json", "--bogus"]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(
      new RegExp(`^sd-lambda ${verb}: Unknown option '--bogus'[^\\n]*\\nusage: sd-lambda ${verb}\\b`),
    );
  });

  it("an unknown flag is named and the verb's usage follows", async () => {
    expect(await runCli(["preflight", "--bogus"])).toEqual({
      code: 2,
      stdout: "",
      stderr: `sd-lambda preflight: Unknown option '--bogus'\n${PREFLIGHT_USAGE}\n`,
    });
  });

  it.each([
    [
      ["invoke", "--out", "x.png"],
      /^sd-lambda invoke: --prompt and --out are required\nusage: sd-lambda invoke/,
    ],
    [
      ["invoke", "--prompt", "x", "--out", "x.png", "--timeout-s", "0"],
      /--timeout-s must be a positive number/,
    ],
    [["generate", "--prompt", "x"], /^sd-lambda generate: --model, --prompt and --out are required\n/],
    [
      ["preflight", "--bundle", "a", "--image", "b"],
      /^sd-lambda preflight: pass --bundle or --image, not both\n$/,
    ],
    [["preflight", "--memory", "lots"], /^sd-lambda preflight: --memory lots is not a positive integer\n$/],
    [["golden", "--target", "moon"], /^sd-lambda golden: --target must be one of/],
    [["up", "now"], /^sd-lambda up: up takes no arguments/],
    [["logs", "--follow", "--json"], /^sd-lambda logs: --follow streams text; --json prints/],
    [
      ["scenarios", "no-such-scenario"],
      /^sd-lambda scenarios: unknown scenario "no-such-scenario" — one of /,
    ],
  ])("%j is a usage error: exit 2, nothing on stdout", async (args, message) => {
    const { code, stdout, stderr } = await runCli(args);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toMatch(message);
  });

  it("a check that does not hold exits 1, with the report as JSON on stdout", async () => {
    const bundle = mkdtempSync(join(tmpdir(), "sd-lambda-cli-"));
    writeFileSync(join(bundle, "secret.json"), "{}");
    chmodSync(join(bundle, "secret.json"), 0o600);
    const { code, stdout } = await runCli(["preflight", "--bundle", bundle, "--json"]);
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as { ok: boolean; checks: { name: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.name === "permissions")?.status).toBe("fail");
  });
});

describe("sd-lambda scenarios --list", () => {
  it("--json: every scenario with what Lambda does, quoted from AWS's documentation", async () => {
    const { code, stdout, stderr } = await runCli(["scenarios", "--list", "--json"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const listed = JSON.parse(stdout) as {
      name: string;
      lambda: { url: string; says: string }[];
      sees: string;
      stand_in: string | null;
    }[];
    expect(listed.map((s) => s.name)).toEqual(SCENARIOS.map((s) => s.name));
    expect(listed.map((s) => s.name)).not.toContain("glibc-too-old");
    for (const s of listed) {
      expect(s.lambda.length, s.name).toBeGreaterThan(0);
      for (const quote of s.lambda) {
        expect(quote.url, s.name).toMatch(/^https:\/\/(docs\.aws\.amazon\.com|repost\.aws)\//);
        expect(quote.says.length, s.name).toBeGreaterThan(20);
      }
    }
    // the two places the harness answers for the Lambda service say so
    expect(Object.fromEntries(listed.filter((s) => s.stand_in).map((s) => [s.name, s.stand_in]))).toEqual({
      "payload-too-large": expect.stringMatching(
        /^413 RequestTooLargeException for a request over 6,291,456 bytes/,
      ),
      "concurrent-invokes": expect.stringMatching(
        /^429 TooManyRequestsException for a request while the one environment is busy/,
      ),
    });
  });

  it("as text: the provocation, Lambda's documented behaviour with its page, and what the user sees", async () => {
    const { code, stdout } = await runCli(["scenarios", "--list", "concurrent-invokes"]);
    expect(code).toBe(0);
    expect(stdout.split("\n")).toEqual([
      "concurrent-invokes — Two invocations at once",
      expect.stringMatching(/^ {2}provoke: {2}the sleeper function asked to sleep 3 s/),
      expect.stringMatching(
        /^ {2}lambda: {3}"For each concurrent request, Lambda provisions a separate instance/,
      ),
      "            https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
      expect.stringMatching(/^ {2}sees: {5}the stand-in and the front door answer the second with 429/),
      expect.stringMatching(/^ {2}stand-in: 429 TooManyRequestsException/),
      "",
    ]);
  });
});
