// `sd-lambda deploy` with msw standing in for STS, SSM and Lambda (no AWS account is reachable from
// here) and the process steps (docker build, preflight, cdk deploy, golden) replaced by recorders, so the
// order, the refusals and the whole messages are checked without Docker or credentials.
import { HttpResponse, http } from "msw";
import { describe, expect, it, vi } from "vitest";
import { parseDeployConfig } from "../../deploy/config.ts";
import { deployCommand } from "../../harness/commands/deploy.ts";
import type { DeploySteps, StackOutputs } from "../../harness/deploy/pipeline.ts";
import { checkPrerequisites } from "../../harness/deploy/prerequisites.ts";
import type { PreflightReport } from "../../harness/preflight/index.ts";
import { mockLambdaApi } from "../helpers/lambda-api.ts";

const server = mockLambdaApi();
const STS = "https://sts.eu-west-1.amazonaws.com/";
const SSM = "https://ssm.eu-west-1.amazonaws.com/";
const SETTINGS = "https://lambda.eu-west-1.amazonaws.com/2016-08-19/account-settings";

const identity = () =>
  http.post(STS, () =>
    HttpResponse.xml(
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/deployer</Arn><UserId>AIDAEXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    ),
  );
const bootstrap = (value: string | undefined) =>
  http.post(SSM, () =>
    value === undefined
      ? HttpResponse.json({ __type: "ParameterNotFound", message: "" }, { status: 400 })
      : HttpResponse.json({
          Parameter: { Name: "/cdk-bootstrap/hnb659fds/version", Type: "String", Value: value },
        }),
  );
const settings = (concurrent: number, unreserved: number) =>
  http.get(SETTINGS, () =>
    HttpResponse.json({
      AccountLimit: {
        ConcurrentExecutions: concurrent,
        UnreservedConcurrentExecutions: unreserved,
        TotalCodeSize: 80530636800,
      },
      AccountUsage: { FunctionCount: 0, TotalCodeSize: 0 },
    }),
  );

const OUTPUTS: StackOutputs = {
  FunctionName: "sd-lambda-Function1",
  FunctionUrl: "https://abc.lambda-url.eu-west-1.on.aws/",
  LoaderFunctionName: "sd-lambda-Loader1",
  StagingBucket: "sd-lambda-staging1",
  FileSystemId: "fs-0123",
};

function report(ok: boolean): PreflightReport {
  return {
    source: "image sd-lambda/function:x86_64",
    runtime: "nodejs24.x",
    memoryMb: 10240,
    ok,
    checks: [
      ok
        ? {
            name: "architecture",
            status: "pass",
            summary: "all 4 native files are x86-64 (x86_64)",
            details: [],
          }
        : {
            name: "architecture",
            status: "fail",
            summary: "1 of 4 native files are not x86-64",
            details: ["/var/task/node_modules/x.node is aarch64"],
          },
    ],
  };
}

/** The real prerequisites (against msw), recorders for the process steps. */
function steps(preflightOk: boolean, smokeExit = 0): DeploySteps & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    prerequisites: checkPrerequisites,
    async buildImage(config) {
      calls.push(`build ${config.function.architecture}`);
      return { image: "sd-lambda/function:x86_64", baseImage: "sd-lambda/base:nodejs24" };
    },
    async preflight(image) {
      calls.push(`preflight ${image}`);
      return report(preflightOk);
    },
    async cdkDeploy(config, region, baseImage) {
      calls.push(`cdk deploy ${config.stackName} ${region} ${baseImage}`);
      return OUTPUTS;
    },
    async upload(_o, _r, from, model) {
      calls.push(`upload ${from} ${model}`);
    },
    async smokeTest(name, region) {
      calls.push(`golden --target aws ${name} ${region}`);
      return smokeExit;
    },
  };
}

async function run(args: string[], s: DeploySteps) {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((c) => {
    stdout += String(c);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((c) => {
    stderr += String(c);
    return true;
  });
  try {
    const code = await deployCommand(args, s).catch((e: Error) => e);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

describe("sd-lambda deploy", () => {
  it("checks the account, builds, preflights, deploys, uploads and smoke-tests, in that order", async () => {
    server.use(identity(), bootstrap("30"), settings(1000, 1000));
    const s = steps(true);
    const { code, stdout, stderr } = await run(
      ["--region", "eu-west-1", "--upload", "fixtures/models/tiny-sd", "--model", "tiny-sd"],
      s,
    );
    expect(code).toBe(0);
    expect(s.calls).toEqual([
      "build x86_64",
      "preflight sd-lambda/function:x86_64",
      "cdk deploy sd-lambda eu-west-1 sd-lambda/base:nodejs24",
      "upload fixtures/models/tiny-sd tiny-sd",
      "golden --target aws sd-lambda-Function1 eu-west-1",
    ]);
    expect(stderr).toBe(
      [
        "[sd-lambda] account 123456789012 (arn:aws:iam::123456789012:user/deployer) in eu-west-1: CDK bootstrap version 30, Lambda concurrency 1000",
        '[sd-lambda] WARNING: function.memoryMb is 10240 MB; many new accounts may only configure up to 3008 MB (no API reports this limit) — if CloudFormation answers "MemorySize value failed to satisfy constraint", ask AWS Support for a Lambda memory increase, or lower function.memoryMb in sd-lambda.config.ts',
        "[sd-lambda] preflight passed on sd-lambda/function:x86_64 (x86_64)",
        "[sd-lambda] deployed stack sd-lambda: function sd-lambda-Function1, URL https://abc.lambda-url.eu-west-1.on.aws/",
        "[sd-lambda] model tiny-sd is on EFS",
        "[sd-lambda] smoke test: sd-lambda golden --target aws --function-name sd-lambda-Function1 --region eu-west-1",
        "[sd-lambda] smoke test passed: the deployed function matches the goldens",
        "",
      ].join("\n"),
    );
    expect(stdout).toContain("  URL          https://abc.lambda-url.eu-west-1.on.aws/ (auth AWS_IAM)\n");
  });

  it("refuses to deploy an image that fails preflight", async () => {
    server.use(identity(), bootstrap("30"), settings(1000, 1000));
    const s = steps(false);
    const { code } = await run(["--region", "eu-west-1", "--no-smoke-test"], s);
    expect(s.calls).toEqual(["build x86_64", "preflight sd-lambda/function:x86_64"]);
    expect((code as Error).message).toBe(
      [
        "[sd-lambda] not deploying: preflight failed on sd-lambda/function:x86_64 for x86_64",
        "preflight of image sd-lambda/function:x86_64 for nodejs24.x at 10240 MB",
        "  FAIL architecture: 1 of 4 native files are not x86-64",
        "         /var/task/node_modules/x.node is aarch64",
        "preflight FAILED",
        "",
      ].join("\n"),
    );
  });

  it("exits 1 when the smoke test fails after the deploy", async () => {
    server.use(identity(), bootstrap("30"), settings(1000, 1000));
    const { code, stderr } = await run(["--region", "eu-west-1"], steps(true, 1));
    expect(code).toBe(1);
    expect(stderr).toContain(
      "[sd-lambda] smoke test FAILED (exit 1): the stack is deployed but does not serve the goldens — see reports/golden/index.html\n",
    );
  });
});

describe("deploy prerequisites", () => {
  const config = parseDeployConfig({});

  it("no credentials: says how to get them", async () => {
    server.use(
      http.post(STS, () =>
        HttpResponse.xml(
          "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>1</RequestId></ErrorResponse>",
          { status: 403 },
        ),
      ),
    );
    await expect(checkPrerequisites(config, "eu-west-1")).rejects.toThrow(
      "[sd-lambda] no usable AWS credentials (InvalidClientTokenId: The security token included in the request is invalid.) — run `aws configure` or `aws sso login`, or set AWS_PROFILE / AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    );
  });

  it("no CDK bootstrap: names the account and region and the command that bootstraps", async () => {
    server.use(identity(), bootstrap(undefined));
    await expect(checkPrerequisites(config, "eu-west-1")).rejects.toThrow(
      "[sd-lambda] account 123456789012 is not bootstrapped for the CDK in eu-west-1 (no SSM parameter /cdk-bootstrap/hnb659fds/version) — run `npx cdk bootstrap aws://123456789012/eu-west-1` once",
    );
  });

  it("an old CDK bootstrap: asks for the upgrade", async () => {
    server.use(identity(), bootstrap("4"));
    await expect(checkPrerequisites(config, "eu-west-1")).rejects.toThrow(
      "[sd-lambda] the CDK bootstrap in eu-west-1 is version 4; this app needs 6 or later — run `npx cdk bootstrap aws://123456789012/eu-west-1` to upgrade it",
    );
  });

  it("a new account: warns about its memory ceiling and its concurrency of 10", async () => {
    server.use(identity(), bootstrap("30"), settings(10, 10));
    const facts = await checkPrerequisites(config, "eu-west-1");
    expect(facts.warnings[1]).toBe(
      "the account's Lambda concurrency is 10 in eu-west-1 (a new account's limit): at most 10 images at a time — ask AWS for more through Service Quotas",
    );
  });

  it("reserved concurrency the account cannot give: refused before building", async () => {
    server.use(identity(), bootstrap("30"), settings(10, 10));
    const reserving = parseDeployConfig({ function: { reservedConcurrency: 5 } });
    await expect(checkPrerequisites(reserving, "eu-west-1")).rejects.toThrow(
      "[sd-lambda] function.reservedConcurrency is 5 but the account has 10 unreserved concurrent executions of 10 in eu-west-1, and Lambda keeps 10 unreserved — lower function.reservedConcurrency in sd-lambda.config.ts or ask AWS for a concurrency increase",
    );
  });
});
