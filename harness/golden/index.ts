/**
 * The golden-seed regression gate: cases (cases.ts), targets that run them (targets.ts), the pure
 * verdict (compare.ts), golden files (store.ts), the run (gate.ts) and its renderers (report.ts).
 */
export { caseEvent, caseRequest, type GoldenCase, loadCases } from "./cases.ts";
export {
  type CompareOptions,
  checkStable,
  comparePixels,
  DEFAULT_COMPARE_OPTIONS,
  densestWindow,
  describeOutcome,
  judge,
  type Outcome,
  type OutcomeKind,
  type PixelStats,
  type RgbaImage,
} from "./compare.ts";
export { type Fingerprint, fingerprintDiffs, hostIsa, isaPath } from "./fingerprint.ts";
export {
  type CaseResult,
  caseFailed,
  type GateOptions,
  type GateResult,
  runGate,
  UPDATE_MODES,
  type UpdateMode,
} from "./gate.ts";
export { renderCli, renderHtml, renderJunit } from "./report.ts";
export { type EngineRecord, recordedSha256, type Sidecar } from "./store.ts";
export {
  awsTarget,
  DEFAULT_MODELS_DIRS,
  emulatorTarget,
  localTarget,
  readAnswer,
  TARGET_NAMES,
  type Target,
  type TargetName,
} from "./targets.ts";
