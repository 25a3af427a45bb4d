/**
 * The deploy configuration: the values people change. Everything left out takes the default in
 * deploy/config.ts (its schema also holds Lambda's limits). `make up`, the emulator tests and
 * `sd-lambda deploy` all read this file, so the emulator tests what gets deployed.
 */
import type { DeployConfigInput } from "./deploy/config.ts";

export default {
  stackName: "sd-lambda",
  function: {
    // 10,240 MB = 6 vCPU; new accounts are limited to 3,008 MB until AWS raises the quota.
    memoryMb: 10240,
    timeoutS: 300,
    ephemeralStorageMb: 512,
    architecture: "x86_64",
    environment: {},
  },
  efs: { mountPath: "/mnt/fs", uid: 993, gid: 990, rootPermissions: "750" },
  // name: the folder under <mount>/models/ to serve (SD_MODEL); unset serves the only folder there.
  model: { location: "efs" },
  // AWS_IAM: callers sign requests (SigV4). Set "NONE" only for a deliberately public endpoint.
  url: { authType: "AWS_IAM" },
} satisfies DeployConfigInput;
