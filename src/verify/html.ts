/**
 * The report as one self-contained HTML page (`--html FILE`): pure. On top, the verdicts — the N3XUS LAW apart from
 * availability, because it gates on its own — then the fleet as a grid, a row per stage and a box per category, a
 * cell per target coloured by its verdict; then each failure with its reason, consequences grouped under their root
 * cause as in the terminal summary; then warnings and every check with its timing.
 *
 * Self-contained because the page is a CI artifact opened anywhere, offline: inline CSS, no script, no web font,
 * no image, no link out of the page. Everything a service or the fleet file wrote (names, messages, the host) is
 * escaped: a message quoting a body with markup must show as text, never run.
 */
import { STAGES } from '../fleet/stages.ts';
import { onlyConsequences, rootCauses } from './causes.ts';
import type { CheckResult, ServiceResult, VerifyReport } from './types.ts';

/**
 * A target's verdict in the grid: `fail` when a required check failed, `not-run` when the required checks that did
 * not pass could not run (none failed), `warn` when it is operational but something is worth a look (a warning, or
 * an informative check that failed), `pass` otherwise.
 */
export type Verdict = 'pass' | 'fail' | 'not-run' | 'warn';

/**
 * The colour of each verdict, as the cells are filled. Distinct from every other colour on the page, so that a
 * screenshot shows which cells failed (the browser test looks for them).
 */
export const VERDICT_COLOURS: Readonly<Record<Verdict, string>> = {
  pass: '#1b7f3b',
  fail: '#c4162a',
  'not-run': '#5f6673',
  warn: '#e0a100',
};

const VERDICT_LABELS: Readonly<Record<Verdict, string>> = { pass: 'passed', fail: 'failed', 'not-run': 'not run', warn: 'passed with warnings' };

// Characters HTML cannot carry (C0 controls but tab, newline, carriage return; lone surrogates): browsers would
// show them as replacement characters, or the parser would flag them.
// eslint-disable-next-line no-control-regex -- control characters are exactly what this removes
const INVALID_HTML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for an HTML element or a quoted attribute. */
export function htmlEscape(text: string): string {
  return text
    .replace(INVALID_HTML, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const h = htmlEscape;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
const millis = (ms: number): string => `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

function failingChecks(service: ServiceResult): CheckResult[] {
  return service.checks.filter((c) => c.required && c.status !== 'pass');
}

function warningsOf(service: ServiceResult): string[] {
  return service.checks.flatMap((c) => [...(c.warnings ?? []).map((w) => `${c.name}: ${w}`), ...(!c.required && c.status !== 'pass' ? [`${c.name}: ${c.message}`] : [])]);
}

/** The verdict of one target; see {@link Verdict}. */
export function serviceVerdict(service: ServiceResult): Verdict {
  if (!service.operational) return failingChecks(service).some((c) => c.status === 'fail') ? 'fail' : 'not-run';
  return warningsOf(service).length > 0 ? 'warn' : 'pass';
}

/** "law: GET /metrics … (because postgres failed)", a check's reason in one line of text. */
function reasonText(check: CheckResult): string {
  return `${check.name}: ${check.message}${check.causedBy === undefined ? '' : ` (because ${check.causedBy} failed)`}`;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1d2330;background:#f6f7f9}
h1{font-size:20px;margin:0 0 4px}
h2{font-size:16px;margin:28px 0 10px}
h3{font-size:14px;margin:0 0 6px}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eceef2;padding:1px 4px;border-radius:3px}
.meta{display:flex;flex-wrap:wrap;gap:2px 16px;color:#4a5160;margin:0 0 8px;overflow-wrap:anywhere}
.note{color:#4a5160;margin:0 0 8px}
.verdicts{display:flex;gap:12px;flex-wrap:wrap}
.verdict{flex:1 1 320px;padding:10px 14px;border-radius:6px;border-left:6px solid}
.verdict h2{margin:0 0 4px;font-size:15px}
.verdict p{margin:0}
.verdict ul{margin:6px 0 0;padding-left:18px;max-height:12em;overflow:auto}
.verdict.ok{background:#e7f4ea;border-color:#0f5a28}
.verdict.bad{background:#fbe9eb;border-color:#86101e}
.gate{font-size:22px;font-weight:700;margin:0 0 12px}
.gate.ok{color:#0f5a28}
.gate.bad{color:#86101e}
.legend{display:flex;gap:16px;flex-wrap:wrap;margin:0 0 10px;color:#4a5160}
.legend span::before{content:"";display:inline-block;width:12px;height:12px;margin-right:6px;border-radius:2px;vertical-align:-1px;background:var(--c)}
.legend .caused-key::before{background:#fff;outline:2px dashed #1d2330;outline-offset:-2px}
.stage{display:flex;gap:12px;align-items:flex-start;padding:8px 0;border-top:1px solid #dde0e6}
.stage>h3{flex:0 0 90px;margin:6px 0 0;text-transform:uppercase;font-size:12px;letter-spacing:.05em;color:#4a5160}
.categories{display:flex;flex-wrap:wrap;gap:8px;flex:1}
.category{background:#fff;border:1px solid #dde0e6;border-radius:6px;padding:6px 8px}
.category h4{margin:0 0 4px;font-size:11px;font-weight:600;color:#4a5160}
.cells{display:flex;flex-wrap:wrap;gap:4px;margin:0;padding:0;list-style:none}
.cell{display:block;min-width:120px;padding:7px 10px;border-radius:4px;font-size:12px;font-weight:600;white-space:nowrap;text-decoration:none}
.cell.caused{outline:2px dashed #1d2330;outline-offset:-4px}
.v-pass{background:${VERDICT_COLOURS.pass};color:#fff}
.v-fail{background:${VERDICT_COLOURS.fail};color:#fff}
.v-not-run{background:${VERDICT_COLOURS['not-run']};color:#fff}
.v-warn{background:${VERDICT_COLOURS.warn};color:#1d2330}
.failure{background:#fff;border:1px solid #dde0e6;border-left:4px solid #86101e;border-radius:6px;padding:10px 14px;margin:0 0 10px}
.failure ul{margin:4px 0 0;padding-left:18px}
.failure .where{font-weight:400;color:#4a5160;margin-left:8px}
.failure .ms{color:#4a5160;white-space:nowrap}
.cause{border-left-color:#4a0a12}
table{border-collapse:collapse;background:#fff;font-size:12px}
th,td{border:1px solid #dde0e6;padding:3px 8px;text-align:left;vertical-align:top}
td.num{text-align:right;white-space:nowrap}
.s-pass{color:#0f5a28}
.s-fail{color:#86101e;font-weight:600}
.s-not-run{color:#4a5160;font-weight:600}
details summary{cursor:pointer;margin:0 0 8px}
`;

function legend(): string {
  const items = (Object.keys(VERDICT_COLOURS) as Verdict[]).map((v) => `<span style="--c:${VERDICT_COLOURS[v]}">${VERDICT_LABELS[v]}</span>`);
  return `<p class="legend">${items.join('')}<span class="caused-key">dashed: fails because of another target</span></p>`;
}

/** The verdicts: the gate, then the law and availability each in its own box. */
function verdicts(report: VerifyReport): string {
  const { law, counts } = report;
  const violators = [...new Set(law.violations.map((v) => v.service))];
  const lawBox = law.passed
    ? `<section class="verdict ok" aria-label="N3XUS LAW verdict"><h2>LAW: enforced</h2><p>by every service checked (${plural(law.checked, 'law check', 'law checks')})</p></section>`
    : `<section class="verdict bad" aria-label="N3XUS LAW verdict"><h2>LAW VIOLATED</h2><p>${plural(violators.length, 'service does', 'services do')} not enforce the N3XUS LAW, which fails verify whatever the threshold (${plural(law.checked, 'law check', 'law checks')}):</p><ul>${law.violations
        .map((v) => `<li><strong>${h(v.service)}</strong> <code>${h(v.code)}</code> ${h(v.message)}</li>`)
        .join('')}</ul></section>`;
  const availability = `${counts.operational}/${counts.services} operational (${report.operationalPercent} %), threshold ${report.threshold} %`;
  const availabilityBox = `<section class="verdict ${report.availabilityPassed ? 'ok' : 'bad'}" aria-label="availability verdict"><h2>Availability: ${report.availabilityPassed ? 'met' : 'below the threshold'}</h2><p>${h(availability)}</p></section>`;
  const gate = report.passed ? 'PASSED' : report.availabilityPassed ? 'FAILED: the N3XUS LAW is violated' : law.passed ? 'FAILED: below the threshold' : 'FAILED: the N3XUS LAW is violated, and below the threshold';
  return `<p class="gate ${report.passed ? 'ok' : 'bad'}" role="status">${gate}</p><div class="verdicts">${lawBox}${availabilityBox}</div>`;
}

/** Mode, where, when, how long, the sample and where container state came from. */
function meta(report: VerifyReport): string {
  const { docker, counts } = report;
  const items = [
    `mode: ${report.mode}`,
    `host: ${report.host}`,
    `fleet file: ${report.fleetFile}`,
    `started: ${report.startedAt}`,
    `took: ${seconds(report.durationMs)}`,
    `${plural(counts.services, 'target', 'targets')}, ${counts.checksPassed}/${counts.checks} checks passed`,
    docker.used ? `containers: ${docker.containers ?? 0} of project ${docker.project}` : `containers: not checked (${docker.reason ?? 'no engine'})`,
  ];
  const lines = [`<p class="meta">${items.map((i) => `<span>${h(i)}</span>`).join('')}</p>`];
  if (report.sample) {
    const { seed, size } = report.sample;
    lines.push(`<p class="note">sample: ${size} services, one or more per category, drawn from seed <strong>${seed}</strong> (<code>--seed ${seed}</code> draws it again)</p>`);
  }
  if (report.functional?.ran === false) lines.push(`<p class="note">functional checks: not run (${h(report.functional.reason ?? 'turned off')}); nothing was written to the services</p>`);
  if (report.escalatedFrom) {
    const { seed, size, failed } = report.escalatedFrom;
    lines.push(`<p class="note">escalated to --full: the sample of ${size} services drawn from seed <strong>${seed}</strong> failed on ${h(failed.join(', '))}</p>`);
  }
  return lines.join('');
}

/** Anchors of the failure entries, by service: names are free text, so ids are made from positions. */
type Anchors = ReadonlyMap<string, string>;

function cell(service: ServiceResult, anchors: Anchors): string {
  const verdict = serviceVerdict(service);
  const reasons = verdict === 'warn' ? warningsOf(service) : failingChecks(service).map(reasonText);
  const label = `${service.name}: ${VERDICT_LABELS[verdict]}${reasons.length > 0 ? `: ${reasons.join('; ')}` : ''}`;
  const classes = `cell v-${verdict}${onlyConsequences(service) ? ' caused' : ''}`;
  const anchor = anchors.get(service.name);
  const attributes = `class="${classes}" title="${h(label)}" aria-label="${h(label)}"`;
  return `<li>${anchor === undefined ? `<span ${attributes}>${h(service.name)}</span>` : `<a ${attributes} href="#${anchor}">${h(service.name)}</a>`}</li>`;
}

/** The fleet: a row per stage (in startup order), a box per category, a cell per target. */
function grid(report: VerifyReport, anchors: Anchors): string {
  const rows: string[] = [];
  const known = new Set<string>(STAGES);
  // A stage this version does not know (a newer fleet file) is still shown, after the known ones.
  const stages = [...STAGES, ...new Set(report.services.map((s) => s.stage).filter((s) => !known.has(s)))];
  for (const stage of stages) {
    const services = report.services.filter((s) => s.stage === stage);
    if (services.length === 0) continue;
    const categories = new Map<string, ServiceResult[]>();
    for (const service of services) categories.set(service.category, [...(categories.get(service.category) ?? []), service]);
    const boxes = [...categories].map(([category, members]) => `<div class="category"><h4>${h(category)}</h4><ul class="cells">${members.map((s) => cell(s, anchors)).join('')}</ul></div>`);
    rows.push(`<div class="stage"><h3>${h(stage)}</h3><div class="categories">${boxes.join('')}</div></div>`);
  }
  return `<h2>Fleet</h2>${legend()}<div class="grid">${rows.join('')}</div>`;
}

function checkItem(check: CheckResult): string {
  const code = check.code === undefined ? '' : ` <code>${h(check.code)}</code>`;
  const status = check.status === 'not-run' ? ' (not run)' : '';
  const because = check.causedBy === undefined ? '' : ` — because <strong>${h(check.causedBy)}</strong> failed`;
  return `<li><strong>${h(check.name)}</strong>${code}${status}: ${h(check.message)}${because} <span class="ms">${millis(check.durationMs)}</span></li>`;
}

function reasonsList(service: ServiceResult): string {
  const checks = failingChecks(service);
  return checks.length > 0 ? `<ul>${checks.map(checkItem).join('')}</ul>` : '<ul><li>no required check ran</li></ul>';
}

const where = (service: ServiceResult): string => `<span class="where">${h(service.stage)} / ${h(service.category)}</span>`;

/**
 * The failures: root causes first, each with its own reasons and the services that fail because of it; then every
 * other target that is not operational, with the checks that did not pass and why.
 */
function failures(report: VerifyReport, anchors: Anchors): string {
  const failed = report.services.filter((s) => !s.operational);
  if (failed.length === 0) return '<h2>Failures</h2><p>None: every target passed its required checks.</p>';
  const byName = new Map(report.services.map((s) => [s.name, s]));
  const causes = rootCauses(report.services);
  const causeNames = new Set(causes.map((c) => c.cause));
  const blocks: string[] = [];
  for (const { cause, affected } of causes) {
    const service = byName.get(cause);
    const own = service === undefined ? '' : reasonsList(service);
    const consequences = affected.map((name) => {
      const s = byName.get(name)!;
      return `<li><strong>${h(name)}</strong>${where(s)}<ul>${s.checks.filter((c) => c.causedBy === cause).map(checkItem).join('')}</ul></li>`;
    });
    const id = service === undefined ? '' : ` id="${anchors.get(cause)}"`;
    blocks.push(
      `<article class="failure cause"${id}><h3>root cause: ${h(cause)} failed${service === undefined ? '' : where(service)}</h3>${own}<p>${plural(affected.length, 'service fails', 'services fail')} because of it:</p><ul>${consequences.join('')}</ul></article>`,
    );
  }
  // A target listed as a root cause above, or whose every failure another target explains, is not listed again.
  for (const service of failed.filter((s) => !causeNames.has(s.name) && !onlyConsequences(s))) {
    blocks.push(`<article class="failure" id="${anchors.get(service.name)}"><h3>${h(service.name)}${where(service)}</h3>${reasonsList(service)}</article>`);
  }
  return `<h2>Failures (${failed.length} of ${report.services.length} targets not operational${causes.length > 0 ? `; ${plural(causes.length, 'root cause', 'root causes')}` : ''})</h2>${blocks.join('')}`;
}

/** The same warning on many targets is one line, as in the terminal summary. */
function warnings(report: VerifyReport): string {
  const warned = new Map<string, string[]>();
  for (const service of report.services) {
    for (const text of warningsOf(service)) warned.set(text, [...(warned.get(text) ?? []), service.name]);
  }
  if (warned.size === 0) return '';
  const items = [...warned].map(([text, names]) => `<li><strong>${h(names.join(', '))}</strong> ${h(text)}</li>`);
  return `<h2>Warnings</h2><ul>${items.join('')}</ul>`;
}

function latency(report: VerifyReport): string {
  if (!report.latency || report.latency.length === 0) return '';
  const rows = report.latency.map(
    (l) => `<tr><td>${h(l.name)}</td><td class="num">${l.p50Ms} ms</td><td class="num">${l.p95Ms} ms</td><td class="num">${l.p99Ms} ms</td><td class="num">${l.maxMs} ms</td><td class="num">${l.errors}/${l.requests}</td></tr>`,
  );
  return `<h2>Latency (GET /health burst, slowest by p95 first)</h2><table><thead><tr><th>service</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>failed</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** Every check of every target with its status and wall time, folded: the timings, and what passed. */
function allChecks(report: VerifyReport): string {
  const rows = report.services.flatMap((s) =>
    s.checks.map(
      (c, i) =>
        `<tr>${i === 0 ? `<td rowspan="${s.checks.length}">${h(s.name)}</td>` : ''}<td>${h(c.name)}${c.required ? '' : ' (informative)'}</td><td class="s-${c.status}">${c.status}</td><td class="num">${millis(c.durationMs)}</td><td>${h(c.message)}</td></tr>`,
    ),
  );
  return `<h2>Checks and timings</h2><details><summary>${plural(report.counts.checks, 'check', 'checks')} in ${seconds(report.durationMs)}</summary><table><thead><tr><th>target</th><th>check</th><th>status</th><th>time</th><th>found</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}

/** Renders the report as a complete HTML document. */
export function renderHtml(report: VerifyReport): string {
  const anchors = new Map(report.services.filter((s) => !s.operational).map((s, i) => [s.name, `failure-${i + 1}`]));
  // A target that fails only because of another is shown under that cause: its cell links there.
  const causes = new Set(rootCauses(report.services).map((c) => c.cause));
  for (const service of report.services.filter((s) => onlyConsequences(s) && !causes.has(s.name))) {
    const cause = service.checks.find((c) => c.causedBy !== undefined)?.causedBy;
    const target = cause === undefined ? undefined : anchors.get(cause);
    if (target !== undefined) anchors.set(service.name, target);
  }
  const title = `n3xus verify${report.mode === 'full' ? ' --full' : ''}: ${report.passed ? 'PASSED' : 'FAILED'}, ${report.counts.operational}/${report.counts.services} operational`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${h(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    `<h1>${h(title)}</h1>`,
    meta(report),
    verdicts(report),
    grid(report, anchors),
    failures(report, anchors),
    warnings(report),
    latency(report),
    allChecks(report),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
