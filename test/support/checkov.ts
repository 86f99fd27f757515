/**
 * Running checkov (installed by scripts/bootstrap.sh into .tools/checkov-venv, pinned in
 * tools/requirements-checkov.txt) over synthesized Terraform JSON, and applying the skip
 * annotations that components/shared/checkov.ts puts next to each resource.
 *
 * Two facts about checkov 3.3.30's `--framework terraform_json` shape this module:
 * - Its parser crashes on a scalar in the `terraform` block (`required_version`;
 *   bridgecrewio/checkov#7454, fix pending in #7467) and counts the file as a parsing error, so
 *   the scan runs on copies without the `terraform` block's scalars. Nothing in that block is a
 *   security setting; the removed keys are reported.
 * - It crashes on a `dynamic` block nested in a resource (its JSON parser leaves line-number
 *   keys inside the block, which checkov's dynamic-block expansion then iterates): every check of
 *   that resource errors out and the graph of the whole file's resources is dropped, silently
 *   (only a log line). The copies therefore carry each nested dynamic block expanded to its
 *   `content`, which is what checkov does itself for HCL, and the run fails on any such log line.
 * - It ignores skip annotations (its runner scans every entity with an empty skip list), so a
 *   failed check counts as skipped here only when the failing resource itself carries
 *   `"//": {"checkov": {"skip": [{"id", "comment"}]}}` for that check id. A plan-only annotation
 *   (`"plan_only": true`) is judged by the plan scan, not here: never stale here, and refused
 *   here if its check fails here.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './paths';

export const CHECKOV_BIN = join(REPO_ROOT, '.tools', 'checkov-venv', 'bin', 'checkov');

export interface CheckovRecord {
  readonly check_id: string;
  readonly check_name: string;
  readonly check_result: { result: 'PASSED' | 'FAILED' | 'SKIPPED'; suppress_comment?: string };
  readonly file_abs_path: string;
  readonly file_line_range: [number, number];
  readonly resource: string;
}

export interface CheckovReport {
  readonly summary: {
    passed: number;
    failed: number;
    skipped: number;
    parsing_errors: number;
    checkov_version: string;
  };
  readonly results: { passed_checks: CheckovRecord[]; failed_checks: CheckovRecord[]; skipped_checks: CheckovRecord[] };
}

/** Replaces `dynamic.<block> = {for_each, content}` by `<block> = [content]`, at any depth. */
function expandDynamicBlocks(body: Record<string, unknown>, path: string, expanded: string[]): void {
  const dynamic = body.dynamic as Record<string, unknown> | undefined;
  if (dynamic !== undefined && dynamic !== null && typeof dynamic === 'object' && !Array.isArray(dynamic)) {
    delete body.dynamic;
    for (const [name, spec] of Object.entries(dynamic)) {
      const contents = (Array.isArray(spec) ? spec : [spec]).map((x) => (x as { content?: unknown }).content);
      const existing =
        body[name] === undefined ? [] : Array.isArray(body[name]) ? (body[name] as unknown[]) : [body[name]];
      body[name] = [...existing, ...contents];
      expanded.push(`${path}.dynamic.${name}`);
    }
  }
  for (const [k, v] of Object.entries(body)) {
    if (k === '//') continue;
    for (const item of Array.isArray(v) ? v : [v]) {
      if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
        expandDynamicBlocks(item as Record<string, unknown>, `${path}.${k}`, expanded);
      }
    }
  }
}

/**
 * Writes the Terraform JSON document as checkov gets to see it (see the module comment) to
 * `path`. Returns what was changed: removed `terraform.*` scalars, expanded dynamic blocks.
 */
export function writeScanCopy(tf: Record<string, unknown>, path: string): string[] {
  const copy = structuredClone(tf);
  const changes: string[] = [];
  const block = copy.terraform as Record<string, unknown> | undefined;
  if (block) {
    for (const [k, v] of Object.entries(block)) {
      if (v === null || typeof v !== 'object') {
        delete block[k];
        changes.push(`removed terraform.${k}`);
      }
    }
  }
  const resources = (copy.resource ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const [type, byName] of Object.entries(resources)) {
    for (const [name, body] of Object.entries(byName)) {
      const expanded: string[] = [];
      expandDynamicBlocks(body, `${type}.${name}`, expanded);
      changes.push(...expanded.map((e) => `expanded ${e}`));
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(copy, null, 2)}\n`);
  return changes;
}

/** checkov log lines that mean a check or a block was not evaluated. */
export const CHECKOV_GAP = /Failed to run check|Failed to add block|Failed to parse|Traceback/;

/**
 * Runs checkov once over every *.tf.json under `dir`; returns the parsed JSON report.
 * Asynchronous: a scan takes tens of seconds, and a blocked test worker makes vitest's own RPC
 * time out.
 */
export async function runCheckov(dir: string): Promise<{ report: CheckovReport; stderr: string }> {
  if (!existsSync(CHECKOV_BIN)) throw new Error(`checkov not found at ${CHECKOV_BIN}: run scripts/bootstrap.sh first`);
  const r = await new Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      const child = execFile(
        CHECKOV_BIN,
        ['--framework', 'terraform_json', '--directory', dir, '--output', 'json', '--compact', '--skip-download'],
        {
          cwd: dir,
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
          timeout: 240_000,
          // offline: no platform calls, no version check
          env: { ...process.env, BC_SKIP_MAPPING: 'TRUE', LOG_LEVEL: 'WARNING' },
        },
        (_error, stdout, stderr) => resolve({ status: child.exitCode, signal: child.signalCode, stdout, stderr }),
      );
    },
  );
  // exit code 1 = failed checks (read from the report); anything else is a crash
  if (r.status !== 0 && r.status !== 1) {
    throw new Error(`checkov exited with ${r.status} ${r.signal ?? ''}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  }
  const parsed = JSON.parse(r.stdout) as CheckovReport | CheckovReport[];
  const report = Array.isArray(parsed) ? parsed.find((x) => x.results) : parsed;
  if (!report?.summary)
    throw new Error(`checkov printed no terraform_json report:\n${r.stdout.slice(0, 2000)}\n${r.stderr}`);
  report.results.passed_checks ??= [];
  report.results.failed_checks ??= [];
  report.results.skipped_checks ??= [];
  return { report, stderr: r.stderr };
}

/** A resource or data block of a Terraform JSON file and the lines checkov reports for it. */
export interface BlockLocation {
  /** `aws_s3_bucket.archive` or `data.aws_iam_policy_document.x` */
  readonly address: string;
  readonly body: Record<string, unknown>;
  readonly startLine: number;
}

/**
 * Where each resource/data block starts in a file written by {@link writeScanCopy}
 * (JSON.stringify with 2 spaces: blocks sit at `"<kind>" → "<type>" → "<name>": {`). checkov's
 * Python checks name entities only `resource.<name>`, so records are matched by start line.
 */
export function blockLocations(tf: Record<string, unknown>, text: string): BlockLocation[] {
  const out: BlockLocation[] = [];
  const lines = text.split('\n');
  let kind: string | undefined;
  let type: string | undefined;
  lines.forEach((line, i) => {
    let m = /^ {2}"([^"]+)": [{[]$/.exec(line);
    if (m) {
      kind = m[1];
      type = undefined;
      return;
    }
    if (kind !== 'resource' && kind !== 'data') return;
    m = /^ {4}"([^"]+)": \{$/.exec(line);
    if (m) {
      type = m[1];
      return;
    }
    m = /^ {6}"([^"]+)": \{$/.exec(line);
    if (m && type && m[1] !== '//') {
      const section = tf[kind] as Record<string, Record<string, Record<string, unknown>>>;
      const body = section[type]?.[m[1]!];
      if (body) out.push({ address: `${kind === 'data' ? 'data.' : ''}${type}.${m[1]}`, body, startLine: i + 1 });
    }
  });
  return out;
}

export interface SkipAnnotation {
  readonly id: string;
  readonly comment: string;
  /** `"plan_only": true`: the check fails only in the stacks' plans (components/shared/checkov.ts). */
  readonly planOnly: boolean;
}

/** The `"//".checkov.skip` annotations of a block (see components/shared/checkov.ts). */
export function skipAnnotations(body: Record<string, unknown>): SkipAnnotation[] {
  const meta = body['//'] as { checkov?: { skip?: unknown } } | undefined;
  const skip = meta?.checkov?.skip;
  if (skip === undefined) return [];
  if (!Array.isArray(skip)) throw new Error('"//".checkov.skip must be a list of {id, comment}');
  return skip.map((s: { id?: unknown; comment?: unknown; plan_only?: unknown }) => {
    if (typeof s.id !== 'string' || typeof s.comment !== 'string' || s.comment.trim() === '') {
      throw new Error(`malformed checkov skip annotation ${JSON.stringify(s)}: needs id and comment`);
    }
    if (s.plan_only !== undefined && s.plan_only !== true)
      throw new Error(`malformed checkov skip annotation ${JSON.stringify(s)}: plan_only is true or absent`);
    return { id: s.id, comment: s.comment, planOnly: s.plan_only === true };
  });
}

export interface Finding {
  readonly file: string;
  readonly address: string;
  readonly checkId: string;
  readonly title: string;
  /** The annotation's comment (skipped findings only). */
  readonly reason?: string;
}

export interface Evaluation {
  readonly passed: Finding[];
  readonly failed: Finding[];
  readonly skipped: Finding[];
  /**
   * Annotations whose check does not fail on their resource (passes there, or never runs),
   * except plan-only ones: the plan scan judges those (test-apply/checkov-plans.test.ts).
   */
  readonly staleSkips: Finding[];
  /** Plan-only annotations whose check does fail here: needed by this scan, so not plan-only. */
  readonly notPlanOnly: Finding[];
}

/**
 * Applies the per-resource skip annotations to checkov's records for the given files
 * (path → the Terraform JSON written there by {@link writeScanCopy}).
 */
export function evaluate(
  report: CheckovReport,
  files: ReadonlyMap<string, { tf: Record<string, unknown>; text: string }>,
): Evaluation {
  const locations = new Map([...files].map(([path, f]) => [path, blockLocations(f.tf, f.text)]));
  const locate = (r: CheckovRecord): BlockLocation | undefined =>
    locations.get(r.file_abs_path)?.find((b) => b.startLine === r.file_line_range[0]);
  const finding = (r: CheckovRecord, reason?: string): Finding => ({
    file: r.file_abs_path,
    address: locate(r)?.address ?? r.resource,
    checkId: r.check_id,
    title: r.check_name,
    ...(reason === undefined ? {} : { reason }),
  });
  const ev: Evaluation = { passed: [], failed: [], skipped: [], staleSkips: [], notPlanOnly: [] };
  const inScope = (r: CheckovRecord) => files.has(r.file_abs_path);
  for (const r of report.results.passed_checks.filter(inScope)) ev.passed.push(finding(r));
  // if a later checkov honours the annotations itself, its own skips count as skipped
  for (const r of report.results.skipped_checks.filter(inScope))
    ev.skipped.push(finding(r, r.check_result.suppress_comment ?? ''));
  const failedHere = new Set<string>();
  for (const r of report.results.failed_checks.filter(inScope)) {
    const block = locate(r);
    const annotation = block ? skipAnnotations(block.body).find((s) => s.id === r.check_id) : undefined;
    if (block) failedHere.add(`${r.file_abs_path}|${block.address}|${r.check_id}`);
    if (annotation) ev.skipped.push(finding(r, annotation.comment));
    else ev.failed.push(finding(r));
  }
  const skippedByCheckov = new Set(ev.skipped.map((f) => `${f.file}|${f.address}|${f.checkId}`));
  for (const [path, locs] of locations) {
    for (const b of locs) {
      for (const s of skipAnnotations(b.body)) {
        const key = `${path}|${b.address}|${s.id}`;
        const needed = failedHere.has(key) || skippedByCheckov.has(key);
        const annotation = { file: path, address: b.address, checkId: s.id, title: '(annotation)', reason: s.comment };
        if (s.planOnly && needed) ev.notPlanOnly.push(annotation);
        else if (!s.planOnly && !needed) ev.staleSkips.push(annotation);
      }
    }
  }
  return ev;
}
