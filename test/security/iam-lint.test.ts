/**
 * Least-privilege lint over every IAM policy of every synthesized component (rules in
 * test/support/iam-lint.ts). Generic: a new component folder with a main.tf.json is covered
 * without touching this file. Prints the documented exceptions and where each one is used.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { synthesizedComponents } from '../support/components';
import {
  KEY_ADMIN_SID,
  lintComponent,
  OTHER_EXCEPTIONS,
  RESOURCE_WILDCARD_EXCEPTIONS,
  type ExceptionUse,
} from '../support/iam-lint';
import { readComponent, type TerraformJson } from '../support/synth';

const components = synthesizedComponents();
const used: ExceptionUse[] = [];
const counts: { component: string; documents: number; statements: number; violations: number }[] = [];

afterAll(() => {
  const lines = [
    'IAM lint: documented exceptions',
    ...RESOURCE_WILDCARD_EXCEPTIONS.map(
      (e) => `  sid ${e.sids.join(' | ')}: Resource "*" only for ${e.actions.join(', ')} (${e.reason})`,
    ),
    ...OTHER_EXCEPTIONS.map((e) => `  ${e.what} (${e.reason})`),
    'IAM lint: exceptions in use',
    ...(used.length === 0 ? ['  (none)'] : used.map((u) => `  ${u.where}: ${u.exception}`)),
    'IAM lint: per component',
    ...counts.map(
      (c) =>
        `  ${c.component.padEnd(22)} documents ${String(c.documents).padStart(2)}  statements ${String(c.statements).padStart(3)}  violations ${c.violations}`,
    ),
  ];
  console.log(lines.join('\n'));
});

describe('IAM lint over the synthesized components', () => {
  it('finds the components and their policies', () => {
    expect(components).toContain('lambda-enrichment');
    const r = lintComponent(readComponent('lambda-enrichment'), 'lambda-enrichment');
    // role trust, role permissions (6 static + 5 dynamic statements), DLQ policy
    expect(r.documents).toBeGreaterThanOrEqual(3);
    expect(r.statements).toBeGreaterThanOrEqual(13);
  });

  it.each(components)(
    '%s: exact actions, exact resources, ARNs built from what the component declares',
    (component) => {
      const r = lintComponent(readComponent(component), component);
      used.push(...r.exceptions);
      counts.push({ component, documents: r.documents, statements: r.statements, violations: r.violations.length });
      expect(r.violations.map((v) => `${v.where} [${v.rule}] ${v.detail}`)).toEqual([]);
    },
  );
});

describe('IAM lint rules (fixtures: each rule can fail)', () => {
  /** A minimal component JSON with one role policy document of the given statements. */
  function fixture(statements: Record<string, unknown>[], extra: Partial<TerraformJson> = {}): TerraformJson {
    return {
      variable: { region: { type: 'string' }, table: { type: 'string' } },
      locals: {
        table_arn:
          'arn:${data.aws_partition.p.partition}:dynamodb:${var.region}:${data.aws_caller_identity.c.account_id}:table/${var.table}',
      },
      data: {
        aws_partition: { p: {} },
        aws_caller_identity: { c: {} },
        aws_iam_policy_document: { perms: { statement: statements } },
      },
      resource: {
        aws_iam_role_policy: { p: { policy: '${data.aws_iam_policy_document.perms.json}', role: 'r' } },
        aws_sqs_queue: { q: { name: 'q' } },
      },
      ...extra,
    } as TerraformJson;
  }
  const rules = (tf: TerraformJson) => lintComponent(tf, 'fixture').violations.map((v) => `${v.rule}: ${v.detail}`);
  const ok = { sid: 'Ok', effect: 'Allow', actions: ['dynamodb:GetItem'], resources: ['${local.table_arn}'] };

  it('passes an exact statement', () => {
    expect(
      rules(
        fixture([ok, { ...ok, sid: 'Queue', actions: ['sqs:SendMessage'], resources: ['${aws_sqs_queue.q.arn}'] }]),
      ),
    ).toEqual([]);
  });
  it('refuses "*", service:* and partial wildcard actions, and NotAction', () => {
    const r = rules(
      fixture([
        { ...ok, actions: ['*'] },
        { ...ok, actions: ['dynamodb:*'] },
        { ...ok, actions: ['dynamodb:Get*'] },
        { sid: 'Not', effect: 'Allow', not_actions: ['iam:*'], resources: ['${local.table_arn}'] },
      ]),
    );
    expect(r.filter((x) => x.startsWith('exact-actions'))).toHaveLength(3);
    expect(r).toContain('no-not-action: NotAction in an Allow statement grants everything else');
  });
  it('refuses Resource "*" outside the exceptions, and an exception sid used for other actions', () => {
    const r = rules(
      fixture([
        { ...ok, resources: ['*'] },
        { sid: 'Tracing', effect: 'Allow', actions: ['xray:PutTraceSegments', 's3:PutObject'], resources: ['*'] },
        { sid: 'Tracing', effect: 'Allow', actions: ['xray:PutTraceSegments'], resources: ['*'] },
      ]),
    );
    expect(r).toEqual([
      'exact-resources: Resource "*" in Ok (not a documented exception)',
      expect.stringMatching(/^exact-resources: sid Tracing may use "\*" only for .*; also allows s3:PutObject$/),
    ]);
  });
  it('refuses hard-coded account ids, regions, partitions, literals and undeclared references', () => {
    const r = rules(
      fixture([
        {
          ...ok,
          resources: ['arn:${data.aws_partition.p.partition}:dynamodb:${var.region}:123456789012:table/${var.table}'],
        },
        {
          ...ok,
          resources: [
            'arn:${data.aws_partition.p.partition}:dynamodb:eu-west-1:${data.aws_caller_identity.c.account_id}:table/x',
          ],
        },
        {
          ...ok,
          resources: ['arn:aws:dynamodb:${var.region}:${data.aws_caller_identity.c.account_id}:table/${var.table}'],
        },
        { ...ok, resources: ['${var.not_declared}'] },
        { ...ok, resources: ['${aws_sqs_queue.other.arn}'] },
        { ...ok, resources: ['table-without-expression'] },
      ]),
    );
    expect(r).toEqual([
      expect.stringContaining('hard-coded account id'),
      expect.stringContaining('hard-coded region'),
      expect.stringContaining('hard-coded partition'),
      expect.stringContaining('refers to var.not_declared'),
      expect.stringContaining('refers to aws_sqs_queue.other'),
      expect.stringContaining('a literal: not built from'),
    ]);
  });
  it('lints dynamic statements, and refuses public Allow principals', () => {
    const tf = fixture([ok]);
    (tf.data!.aws_iam_policy_document!.perms as Record<string, unknown>).dynamic = {
      statement: [{ for_each: '${var.region != "" ? [1] : []}', content: { ...ok, sid: 'Dyn', actions: ['s3:*'] } }],
    };
    tf.resource!.aws_sqs_queue_policy = { qp: { policy: '${data.aws_iam_policy_document.qdoc.json}' } };
    tf.data!.aws_iam_policy_document!.qdoc = {
      statement: [
        {
          sid: 'Public',
          effect: 'Allow',
          actions: ['sqs:SendMessage'],
          resources: ['${aws_sqs_queue.q.arn}'],
          principals: [{ type: '*', identifiers: ['*'] }],
        },
      ],
    };
    expect(rules(tf)).toEqual(['exact-actions: wildcard action "s3:*"', 'no-public-allow: Allow to principal "*" (*)']);
  });
  it(`allows ${KEY_ADMIN_SID} (kms:* for root) and "*" only in key policies`, () => {
    const admin = {
      sid: KEY_ADMIN_SID,
      effect: 'Allow',
      actions: ['kms:*'],
      resources: ['*'],
      principals: [
        {
          type: 'AWS',
          identifiers: ['arn:${data.aws_partition.p.partition}:iam::${data.aws_caller_identity.c.account_id}:root'],
        },
      ],
    };
    const tf = fixture([ok]);
    tf.data!.aws_iam_policy_document!.key = { statement: [admin] };
    tf.resource!.aws_kms_key = { k: { policy: '${data.aws_iam_policy_document.key.json}' } };
    expect(rules(tf)).toEqual([]);
    // the same statement in a role policy is refused
    expect(rules(fixture([admin]))).toEqual([
      'exact-actions: wildcard action "kms:*"',
      'exact-resources: Resource "*" in AccountAdministersKey (not a documented exception)',
    ]);
  });
  it('lints literal JSON policies and refuses policies it cannot review', () => {
    const tf = fixture([ok]);
    tf.resource!.aws_sns_topic_policy = {
      lit: {
        policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Sid: 'All', Effect: 'Allow', Action: 'sns:*', Resource: '*' }],
        }),
      },
      enc: { policy: '${jsonencode({Statement = []})}' },
    };
    expect(rules(tf)).toEqual([
      'exact-actions: wildcard action "sns:*"',
      'exact-resources: Resource "*" in All (not a documented exception)',
      expect.stringContaining('reviewable-policy: policy is neither'),
    ]);
  });
});
