/**
 * Least-privilege lint over the IAM policy documents of one synthesized component.
 *
 * Rules for Allow statements:
 * - actions are exact: no `*`, no `service:*`, no partial wildcards, no NotAction; the only
 *   exception is the key-policy statement that lets the account root administer its key;
 * - resources are exact: no NotResource, and `*` only where a documented exception applies
 *   (see RESOURCE_WILDCARD_EXCEPTIONS, key policies, and trust policies, which have no resources);
 * - no public principal (`*`) in an Allow.
 * For every statement (Allow and Deny): each resource ARN and AWS principal is an expression built
 * from what the component declares (`${...}` referencing var.*, local.*, data.aws_*, aws_*), with
 * no hard-coded account id, region or partition in its literal text; condition values carry no
 * hard-coded account id.
 * A policy attribute that is not `${data.aws_iam_policy_document.<n>.json}` is linted too when it
 * is literal JSON, and refused otherwise (e.g. jsonencode(...) cannot be reviewed here).
 */
import { policyDocuments, type PolicyDocumentInfo, type StatementBlock } from './iam-policy';
import type { TerraformJson } from './synth';
import { templateParts } from './terraform-expr';

export interface ResourceWildcardException {
  /** Statement ids this exception applies to. */
  readonly sids: readonly string[];
  /** The only actions a statement with this sid may allow on "*". */
  readonly actions: readonly string[];
  readonly reason: string;
}

/** Statements that may allow `Resource: "*"`: by sid, and only for these actions. */
export const RESOURCE_WILDCARD_EXCEPTIONS: readonly ResourceWildcardException[] = [
  {
    sids: ['Tracing'],
    actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'],
    reason: 'X-Ray has no resource-level permissions for these actions',
  },
  {
    // Lambda in a VPC (VpcNetworkInterfaces), Firehose delivering into a VPC (VpcDelivery).
    sids: ['VpcNetworkInterfaces', 'VpcDelivery'],
    actions: [
      'ec2:CreateNetworkInterface',
      'ec2:CreateNetworkInterfacePermission',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DeleteNetworkInterface',
      'ec2:AssignPrivateIpAddresses',
      'ec2:UnassignPrivateIpAddresses',
      'ec2:DescribeVpcs',
      'ec2:DescribeVpcAttribute',
      'ec2:DescribeSubnets',
      'ec2:DescribeSecurityGroups',
      'ec2:DescribeDhcpOptions',
    ],
    reason: 'the service creates VPC network interfaces whose ids are not known in advance; AWS requires "*"',
  },
  {
    sids: ['DiscoverTimestreamEndpoint'],
    actions: ['timestream:DescribeEndpoints'],
    reason: 'Timestream endpoint discovery has no resource-level permissions',
  },
];

/** The key-policy statement that keeps the account in control of its key. */
export const KEY_ADMIN_SID = 'AccountAdministersKey';

/** Other documented exceptions, for the printed list. */
export const OTHER_EXCEPTIONS: readonly { what: string; reason: string }[] = [
  {
    what: `key policy statement ${KEY_ADMIN_SID}: action kms:* for the account root`,
    reason: 'without it the key can become unmanageable (AWS default key policy)',
  },
  {
    what: 'key policies (documents used only as aws_kms_key.policy): Resource "*"',
    reason: 'in a key policy "*" means this key',
  },
  {
    what: 'trust policies (documents used as assume_role_policy): no Resource',
    reason: 'a trust policy names principals, not resources',
  },
  {
    what: 'Deny statements: wildcard actions (e.g. DenyInsecureTransport s3:* / sqs:*)',
    reason: 'a broad Deny only narrows access',
  },
];

export interface Violation {
  readonly where: string;
  readonly rule: string;
  readonly detail: string;
}

export interface ExceptionUse {
  readonly where: string;
  readonly exception: string;
}

export interface LintResult {
  readonly documents: number;
  readonly statements: number;
  readonly violations: Violation[];
  readonly exceptions: ExceptionUse[];
}

const ACCOUNT_ID = /(^|[^0-9])[0-9]{12}([^0-9]|$)/;
const REGION = /\b(us|eu|ap|sa|ca|me|af|il|mx|cn)(-gov|-iso[a-z]*)?-[a-z]+-[0-9]\b/;
const PARTITION = /\barn:aws(-[a-z-]+)?:/;

/** What an interpolation may refer to: roots of the references the component declares. */
function undeclaredReferences(expr: string, tf: TerraformJson): string[] {
  const bad: string[] = [];
  // Strip string literals so their content is not taken for references.
  const code = expr.replace(/"(\\.|[^"\\])*"/g, '""');
  const refs = code.match(/\b(data\.)?[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*/g) ?? [];
  let found = 0;
  for (const ref of refs) {
    const [a, b, c] = ref.split('.');
    if (a === 'var') {
      found++;
      if (!tf.variable[b!]) bad.push(ref);
    } else if (a === 'local') {
      found++;
      if (!tf.locals || !(b! in (tf.locals as Record<string, unknown>))) bad.push(ref);
    } else if (a === 'data') {
      found++;
      if (!b!.startsWith('aws_') || !tf.data?.[b!]?.[c!]) bad.push(ref);
    } else if (a!.startsWith('aws_')) {
      found++;
      if (!tf.resource?.[a!]?.[b!]) bad.push(ref);
    }
    // anything else (function names never contain a dot; path.module etc.) is ignored here
  }
  if (found === 0) bad.push(`(no var/local/data/resource reference in "\${${expr}}")`);
  return bad;
}

/** Checks that a value is an expression over declared things with no hard-coded account/region/partition. */
function provenance(value: string, tf: TerraformJson): string[] {
  const problems: string[] = [];
  const parts = templateParts(value);
  const exprs = parts.filter((p): p is { expr: string } => 'expr' in p);
  if (exprs.length === 0) problems.push('a literal: not built from the resources/variables the component declares');
  for (const e of exprs) {
    for (const r of undeclaredReferences(e.expr, tf))
      problems.push(`refers to ${r}, which the component does not declare`);
  }
  const literal = parts.map((p) => ('text' in p ? p.text : '\u0000')).join('');
  if (ACCOUNT_ID.test(literal)) problems.push('hard-coded account id');
  if (REGION.test(literal)) problems.push('hard-coded region');
  if (PARTITION.test(literal)) problems.push('hard-coded partition (use data.aws_partition)');
  return problems;
}

function literalProblems(value: string): string[] {
  const literal = templateParts(value)
    .map((p) => ('text' in p ? p.text : '\u0000'))
    .join('');
  return ACCOUNT_ID.test(literal) ? ['hard-coded account id'] : [];
}

type DocKind = 'trust' | 'key' | 'other';

function kindOf(doc: PolicyDocumentInfo): DocKind {
  if (doc.uses.length > 0 && doc.uses.every((u) => u.attribute === 'assume_role_policy')) return 'trust';
  if (doc.uses.length > 0 && doc.uses.every((u) => u.resourceType === 'aws_kms_key' && u.attribute === 'policy'))
    return 'key';
  return 'other';
}

function lintStatement(
  tf: TerraformJson,
  where: string,
  kind: DocKind,
  s: StatementBlock,
  violations: Violation[],
  exceptions: ExceptionUse[],
): void {
  const v = (rule: string, detail: string) => violations.push({ where, rule, detail });
  const effect = s.effect ?? 'Allow';
  const actions = Array.isArray(s.actions) ? s.actions : [];
  const resources = Array.isArray(s.resources) ? s.resources : [];
  const sid = s.sid ?? '(no sid)';

  if (effect === 'Allow') {
    if (s.not_actions) v('no-not-action', 'NotAction in an Allow statement grants everything else');
    if (s.not_resources) v('no-not-resource', 'NotResource in an Allow statement');
    if (actions.length === 0 && !s.not_actions) v('actions-required', 'statement has no actions');
    for (const a of actions) {
      if (!a.includes('*')) continue;
      const keyAdmin =
        kind === 'key' &&
        sid === KEY_ADMIN_SID &&
        a === 'kms:*' &&
        (s.principals ?? []).every((p) => p.type === 'AWS' && p.identifiers.every((id) => /:root$/.test(id)));
      if (keyAdmin) exceptions.push({ where, exception: `${KEY_ADMIN_SID}: kms:* for the account root` });
      else v('exact-actions', `wildcard action "${a}"`);
    }
    if (kind === 'trust' && resources.length === 0) {
      // trust policies name principals, not resources
    } else if (resources.length === 0 && !s.not_resources) {
      v('resources-required', 'Allow statement without resources');
    }
    if (resources.includes('*')) {
      const ex = RESOURCE_WILDCARD_EXCEPTIONS.find((e) => e.sids.includes(sid));
      if (kind === 'key') {
        exceptions.push({ where, exception: 'key policy: Resource "*" = this key' });
      } else if (ex && actions.every((a) => ex.actions.includes(a)) && !s.not_actions) {
        exceptions.push({ where, exception: `${sid}: Resource "*" for ${actions.join(', ')}` });
      } else if (ex) {
        v(
          'exact-resources',
          `sid ${sid} may use "*" only for ${ex.actions.join(', ')}; also allows ${actions.filter((a) => !ex.actions.includes(a)).join(', ')}`,
        );
      } else {
        v('exact-resources', `Resource "*" in ${sid} (not a documented exception)`);
      }
    }
    for (const p of s.principals ?? []) {
      if (p.type === '*' || p.identifiers.includes('*')) v('no-public-allow', `Allow to principal "*" (${p.type})`);
    }
  }
  for (const r of resources) {
    if (r === '*') continue;
    for (const problem of provenance(r, tf)) v('resource-provenance', `${r}: ${problem}`);
  }
  for (const p of s.principals ?? []) {
    if (p.type !== 'AWS') continue;
    for (const id of p.identifiers) {
      if (id === '*') continue;
      for (const problem of provenance(id, tf)) v('principal-provenance', `${id}: ${problem}`);
    }
  }
  for (const c of s.condition ?? []) {
    // values may be one expression that yields the list (e.g. concat(...))
    for (const value of Array.isArray(c.values) ? c.values : [String(c.values)]) {
      for (const problem of literalProblems(value)) v('condition-values', `${c.variable}=${value}: ${problem}`);
    }
  }
}

/** Statement blocks of a literal JSON policy, in Terraform's attribute names. */
function blocksFromJson(policy: { Statement?: unknown }): StatementBlock[] {
  const list = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement];
  const arr = (x: unknown) => (x === undefined ? undefined : Array.isArray(x) ? (x as string[]) : [x as string]);
  return (list as Record<string, unknown>[]).map((st) => ({
    sid: st.Sid as string | undefined,
    effect: st.Effect as string | undefined,
    actions: arr(st.Action),
    not_actions: arr(st.NotAction),
    resources: arr(st.Resource),
    not_resources: arr(st.NotResource),
    principals:
      st.Principal === '*'
        ? [{ type: '*', identifiers: ['*'] }]
        : Object.entries((st.Principal ?? {}) as Record<string, unknown>).map(([type, ids]) => ({
            type,
            identifiers: arr(ids)!,
          })),
    condition: Object.entries((st.Condition ?? {}) as Record<string, Record<string, unknown>>).flatMap(
      ([test, byVar]) => Object.entries(byVar).map(([variable, values]) => ({ test, variable, values: arr(values)! })),
    ),
  }));
}

/** Lints every policy of one synthesized component. */
export function lintComponent(tf: TerraformJson, component: string): LintResult {
  const { documents, inline } = policyDocuments(tf);
  const violations: Violation[] = [];
  const exceptions: ExceptionUse[] = [];
  let statements = 0;
  for (const doc of documents) {
    const kind = kindOf(doc);
    for (const s of doc.statements) {
      statements++;
      lintStatement(
        tf,
        `${component} ${doc.address} ${s.where} (${s.block.sid ?? 'no sid'})`,
        kind,
        s.block,
        violations,
        exceptions,
      );
      if (s.forEach !== undefined) {
        for (const r of templateParts(s.forEach).filter((p): p is { expr: string } => 'expr' in p)) {
          for (const bad of undeclaredReferences(r.expr, tf)) {
            violations.push({
              where: `${component} ${doc.address} ${s.where}`,
              rule: 'for-each',
              detail: `for_each refers to ${bad}`,
            });
          }
        }
      }
    }
  }
  for (const p of inline) {
    const where = `${component} ${p.use.address}.${p.use.attribute}`;
    let parsed: { Statement?: unknown } | undefined;
    try {
      parsed = JSON.parse(String(p.value)) as { Statement?: unknown };
    } catch {
      parsed = undefined;
    }
    if (!parsed || parsed.Statement === undefined) {
      violations.push({
        where,
        rule: 'reviewable-policy',
        detail: `policy is neither \${data.aws_iam_policy_document.<name>.json} nor literal JSON: ${String(p.value).slice(0, 120)}`,
      });
      continue;
    }
    const kind: DocKind =
      p.use.attribute === 'assume_role_policy' ? 'trust' : p.use.resourceType === 'aws_kms_key' ? 'key' : 'other';
    for (const [i, block] of blocksFromJson(parsed).entries()) {
      statements++;
      lintStatement(tf, `${where} Statement[${i}] (${block.sid ?? 'no sid'})`, kind, block, violations, exceptions);
    }
  }
  return { documents: documents.length + inline.length, statements, violations, exceptions };
}
