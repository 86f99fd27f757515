/**
 * What a reviewer must see in a plan: reads one component's `tofu show -json <planfile>` and
 * counts its changes and flags the ones that lose data or that the deletion guard refuses.
 *
 * Flags:
 * - `store`: a stateful store (STATEFUL_STORES, the one list) is destroyed or replaced; for a
 *   replacement the attribute paths that force it (`replace_paths`) are named.
 * - `refused`: the apply would stop at a delete that protection refuses:
 *   - a deletion guard (components/shared/deletion-guard.ts: a `terraform_data` whose `input` is
 *     `{protected, what}` and whose destroy-time provisioner fails while `self.input.protected`
 *     is true) is destroyed or replaced while its *stored* `input.protected` is true. The
 *     provisioner reads the state (`self`), so turning protection off in the same plan does not
 *     help: the guard is replaced or destroyed with the old value;
 *   - a resource with a native switch (DynamoDB `deletion_protection_enabled`, STATEFUL_STORES
 *     `nativeProtection`) is deleted while the switch is true in the state (AWS refuses).
 */

/** Stateful stores: destroying or replacing one loses data. Resource type → what it is. */
export const STATEFUL_STORES: Readonly<Record<string, { readonly label: string; readonly nativeProtection?: string }>> =
  {
    aws_kinesis_stream: { label: 'Kinesis stream' },
    aws_dynamodb_table: { label: 'DynamoDB table', nativeProtection: 'deletion_protection_enabled' },
    aws_s3_bucket: { label: 'S3 bucket' },
    aws_sqs_queue: { label: 'SQS queue' },
    aws_opensearch_domain: { label: 'OpenSearch domain' },
    aws_timestreamwrite_database: { label: 'Timestream database' },
    aws_timestreamwrite_table: { label: 'Timestream table' },
  };

/** The parts of `tofu show -json` (format 1.x) read here. */
export interface PlanJson {
  readonly format_version: string;
  readonly errored?: boolean;
  readonly resource_changes?: readonly ResourceChange[];
}

export interface ResourceChange {
  readonly address: string;
  readonly mode: 'managed' | 'data';
  readonly type: string;
  readonly name: string;
  readonly change: {
    readonly actions: readonly string[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    /** Attribute paths (each a list of keys/indices) that force the replacement. */
    readonly replace_paths?: readonly (readonly (string | number)[])[];
  };
  readonly action_reason?: string;
}

export type Action = 'add' | 'change' | 'destroy' | 'replace';

export interface Flag {
  readonly kind: 'store' | 'refused';
  readonly address: string;
  readonly action: 'destroy' | 'replace';
  /** One line for the table. */
  readonly text: string;
  /** For a replacement: the attribute paths that force it, e.g. ["name"]. */
  readonly forcedBy?: readonly string[];
}

export interface ComponentSummary {
  readonly counts: Record<Action, number>;
  readonly flags: readonly Flag[];
}

/** OpenTofu's actions list → one of our four (undefined: no-op, read, forget). */
export function classify(actions: readonly string[]): Action | undefined {
  const a = new Set(actions);
  if (a.has('create') && a.has('delete')) return 'replace';
  if (a.has('create')) return 'add';
  if (a.has('delete')) return 'destroy';
  if (a.has('update')) return 'change';
  return undefined;
}

/** `["tags", "Name"]` → `tags.Name`, `["rule", 0, "expiration"]` → `rule[0].expiration`. */
export function pathText(path: readonly (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A deletion guard's stored input, or undefined when the resource is not a deletion guard. */
export function guardInput(rc: ResourceChange): { protected: boolean; what: string } | undefined {
  if (rc.type !== 'terraform_data') return undefined;
  const input = rc.change.before?.input ?? rc.change.after?.input;
  if (!isObject(input) || !('protected' in input) || typeof input.what !== 'string') return undefined;
  const before = rc.change.before?.input;
  // An unknown or absent stored value cannot be true: only the state counts (see module comment).
  const stored = isObject(before) ? before.protected : undefined;
  return { protected: stored === true || stored === 'true', what: input.what };
}

export function summarize(plan: PlanJson): ComponentSummary {
  if (typeof plan.format_version !== 'string' || !/^1\./.test(plan.format_version)) {
    throw new Error(`unsupported plan JSON format_version ${JSON.stringify(plan.format_version)} (expected 1.x)`);
  }
  const counts: Record<Action, number> = { add: 0, change: 0, destroy: 0, replace: 0 };
  const flags: Flag[] = [];
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode !== 'managed') continue;
    const action = classify(rc.change.actions);
    if (action === undefined) continue;
    counts[action] += 1;
    if (action !== 'destroy' && action !== 'replace') continue;

    const store = STATEFUL_STORES[rc.type];
    const forcedBy = action === 'replace' ? (rc.change.replace_paths ?? []).map(pathText) : undefined;
    if (store) {
      const name = rc.change.before?.name ?? rc.change.before?.id;
      const what = `${store.label}${typeof name === 'string' ? ` ${name}` : ''}`;
      const why =
        action === 'replace'
          ? ` replaced, forced by ${forcedBy && forcedBy.length > 0 ? forcedBy.join(', ') : (rc.action_reason ?? 'unknown')}`
          : ' destroyed';
      flags.push({
        kind: 'store',
        address: rc.address,
        action,
        text: `${rc.address} (${what})${why}`,
        ...(forcedBy ? { forcedBy } : {}),
      });
      const sw = store.nativeProtection;
      if (sw && rc.change.before?.[sw] === true) {
        flags.push({
          kind: 'refused',
          address: rc.address,
          action,
          text: `${rc.address}: refused by AWS (${sw} is true in the state)`,
        });
      }
    }
    const guard = guardInput(rc);
    if (guard?.protected) {
      flags.push({
        kind: 'refused',
        address: rc.address,
        action,
        text: `${rc.address}: deletion guard refuses (${action === 'replace' ? 'replaced' : 'destroyed'} while deletion_protection is true in the state): ${guard.what}`,
      });
    }
  }
  return { counts, flags };
}
