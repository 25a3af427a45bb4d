/**
 * Renderers of a golden run (pure: results in, text out): one line per case for the terminal, JUnit XML
 * for CI, and a static HTML page showing expected | actual | diff side by side with the numbers.
 */
import { type CompareOptions, describeOutcome, type Outcome } from "./compare.ts";
import type { EngineInfo } from "./targets.ts";

export interface CaseResultFiles {
  readonly expected?: string;
  readonly actual?: string;
  readonly diff?: string;
}

/** The parts of a gate result the renderers read (gate.ts's GateResult has them all). */
export interface Renderable {
  readonly target: EngineInfo;
  readonly update: string;
  readonly compare: CompareOptions;
  readonly pixelmatchVersion: string;
  readonly cases: readonly {
    readonly name: string;
    readonly prompt?: string;
    readonly outcome: Outcome;
    readonly action: "kept" | "written" | "recorded" | "none";
    readonly ms: number;
    readonly files: CaseResultFiles;
  }[];
  readonly unused: readonly string[];
  readonly removed: readonly string[];
  readonly passed: boolean;
}

type Row = Renderable["cases"][number];

const failed = (r: Row) => r.outcome.kind !== "match" && r.action !== "written";

const LABEL: Record<Outcome["kind"], string> = {
  match: "ok",
  "missing-golden": "MISSING",
  "size-mismatch": "SIZE",
  "bytes-diff": "BYTES",
  "pixel-diff": "DIFF",
  contract: "CONTRACT",
  unstable: "UNSTABLE",
  error: "ERROR",
};

/** The case's badge: what the update did, else its outcome. */
const status = (r: Row) =>
  r.action === "written" || r.action === "recorded" ? r.action : LABEL[r.outcome.kind];

export function renderCaseLine(r: Row, options: CompareOptions): string {
  const why =
    r.action === "written"
      ? `golden written (${r.outcome.kind === "match" ? "it matched; --update all rewrites" : r.outcome.kind === "missing-golden" ? "there was none" : `was ${r.outcome.kind}: ${describeOutcome(r.outcome, options)}`})`
      : r.action === "recorded"
        ? `this engine's sha256 added to the sidecar, the bytes tier from now on (it was a ${describeOutcome(r.outcome, options)})`
        : describeOutcome(r.outcome, options);
  return `${status(r).padEnd(8)} ${r.name.padEnd(24)} ${why} (${r.ms} ms)`;
}

/** The terminal summary: a header, one line per case, unused goldens, the verdict and where to look. */
export function renderCli(result: Renderable, reportHtml: string): string {
  const t = result.target;
  const lines = [
    `golden: ${result.cases.length} cases on ${t.target} (${t.where}; onnxruntime-node ${t.ortVersion ?? "unknown"}, ${t.threads ?? "?"} threads), update ${result.update}`,
    ...result.cases.map((r) => renderCaseLine(r, result.compare)),
  ];
  for (const f of result.unused)
    lines.push(
      `unused   ${f} — no case uses it${result.removed.includes(f) ? "; removed" : " (removed by --update all)"}`,
    );
  const bad = result.cases.filter(failed);
  const written = result.cases.filter((r) => r.action === "written").length;
  const recorded = result.cases.filter((r) => r.action === "recorded").length;
  lines.push(
    bad.length === 0
      ? `PASS: ${result.cases.length - written} matched${written ? `, ${written} golden(s) written` : ""}${recorded ? `, this engine's bytes recorded for ${recorded}` : ""}`
      : `FAIL: ${bad.length} of ${result.cases.length} cases do not match (${bad.map((r) => r.name).join(", ")}) — see ${reportHtml}`,
  );
  return `${lines.join("\n")}\n`;
}

export function renderJunit(result: Renderable): string {
  const bad = result.cases.filter(failed);
  const seconds = (ms: number) => (ms / 1000).toFixed(3);
  const total = result.cases.reduce((s, r) => s + r.ms, 0);
  const cases = result.cases.map((r) => {
    const open = `    <testcase classname="golden.${xml(result.target.target)}" name="${xml(r.name)}" time="${seconds(r.ms)}"`;
    if (!failed(r)) return `${open}/>`;
    const text = describeOutcome(r.outcome, result.compare);
    const detail = JSON.stringify({ outcome: r.outcome, files: r.files }, null, 2);
    const tag = r.outcome.kind === "error" ? "error" : "failure";
    return `${open}>\n      <${tag} type="${r.outcome.kind}" message="${xml(text)}">${xml(detail)}</${tag}>\n    </testcase>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="sd-lambda golden" tests="${result.cases.length}" failures="${bad.length}" time="${seconds(total)}">`,
    `  <testsuite name="golden (${xml(result.target.target)})" tests="${result.cases.length}" failures="${bad.filter((r) => r.outcome.kind !== "error").length}" errors="${bad.filter((r) => r.outcome.kind === "error").length}" time="${seconds(total)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}

export function renderHtml(result: Renderable): string {
  const t = result.target;
  const bad = result.cases.filter(failed);
  const o = result.compare;
  const ordered = [...result.cases].sort((a, b) => Number(failed(b)) - Number(failed(a)));
  const img = (file: string | undefined, alt: string) =>
    file ? `<img src="${xml(file)}" alt="${xml(alt)}">` : `<div class="none">none</div>`;
  const sections = ordered.map((r) => {
    return `<section id="${xml(r.name)}" class="case ${failed(r) ? "fail" : "pass"}" data-outcome="${r.outcome.kind}">
<h2><span class="badge">${xml(status(r))}</span> ${xml(r.name)}</h2>
${r.prompt ? `<p class="prompt">“${xml(r.prompt.length > 120 ? `${r.prompt.slice(0, 120)}…` : r.prompt)}”</p>\n` : ""}<p class="why">${xml(describeOutcome(r.outcome, o))}</p>
<div class="row">
<figure class="expected"><figcaption>expected</figcaption>${img(r.files.expected, `${r.name} expected`)}</figure>
<figure class="actual"><figcaption>actual</figcaption>${img(r.files.actual, `${r.name} actual`)}</figure>
<figure class="diff"><figcaption>diff</figcaption>${img(r.files.diff, `${r.name} diff`)}</figure>
</div>
<details><summary>outcome</summary><pre>${xml(JSON.stringify(r.outcome, null, 2))}</pre></details>
</section>`;
  });
  const unused = result.unused.length
    ? `<p>Goldens no case uses: ${result.unused.map(xml).join(", ")}${result.removed.length ? " (removed)" : " — removed by <code>--update all</code>"}</p>`
    : "";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>golden ${bad.length ? "FAIL" : "PASS"} — sd-lambda</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
.case{border-top:1px solid #ddd;padding:.5rem 0}
.fail .badge{background:#c62828}.pass .badge{background:#2e7d32}
.badge{color:#fff;border-radius:3px;padding:0 .4rem;font-size:12px}
.row{display:flex;gap:1rem}figure{margin:0}figcaption{font-size:12px;color:#555}
img,.none{width:192px;height:auto;image-rendering:pixelated;border:1px solid #ccc;background:#eee}
.none{height:192px;display:flex;align-items:center;justify-content:center;color:#888}
.why{font-family:ui-monospace,monospace}.prompt{font-style:italic;margin:.2rem 0}
</style></head>
<body>
<h1>Golden gate: ${bad.length ? `FAIL — ${bad.length} of ${result.cases.length} cases` : `PASS — ${result.cases.length} cases`}</h1>
<p>Target <b>${xml(t.target)}</b> (${xml(t.where)}), onnxruntime-node ${xml(t.ortVersion ?? "unknown")}, ${t.threads ?? "?"} threads, ${xml(t.platform)}; update mode <code>${xml(result.update)}</code>.
On the goldens' own engine (same onnxruntime, threads, CPU path, pixelmatch) a case must be byte-identical; on another engine pixelmatch ${xml(result.pixelmatchVersion)} judges: threshold ${o.threshold}, includeAA ${o.includeAA}, at most ${(o.maxDiffRatio * 100).toFixed(2)}% of pixels differing and at most ${o.maxWindowDiff} in any ${o.window}x${o.window} window.</p>
${unused}
${sections.join("\n")}
</body></html>
`;
}

function xml(text: string): string {
  return text.replace(
    /[<>&"']/g,
    (ch) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}
