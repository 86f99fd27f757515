/**
 * Least-privilege IAM policy documents.
 *
 * Every statement names exact actions on exact resources. A `*` action is refused outright;
 * a `*` resource is refused unless the statement says why AWS requires it (e.g. EC2 network
 * interface actions of a VPC Lambda), and that reason is kept next to the statement.
 */
import { DataAwsIamPolicyDocument } from '@cdktf/provider-aws/lib/data-aws-iam-policy-document';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy';
import type { Construct } from 'constructs';
import { dynamicWhen, first } from './expressions';
import type { PipelineStack } from './pipeline-stack';

export interface PolicyStatement {
  /** Statement id: what the statement is for, e.g. "ReadIngestStream". */
  readonly sid: string;
  /** Exact actions, e.g. kinesis:GetRecords. No wildcards. */
  readonly actions: readonly string[];
  /** Exact resource ARNs (Terraform expressions allowed). */
  readonly resources: readonly string[];
  /** Required when `resources` is `["*"]`: why AWS offers no narrower resource here. */
  readonly wildcardResourceReason?: string;
  /** Required for a `service:*` action in an Allow statement: why nothing narrower works. */
  readonly wildcardActionReason?: string;
  /** Optional conditions, e.g. StringEquals on kms:ViaService. */
  readonly conditions?: readonly { test: string; variable: string; values: readonly string[] }[];
  /** Statement count guard: a Terraform bool expression; the statement is dropped when false. */
  readonly enabledWhen?: string;
  /** Allow (default) or Deny. */
  readonly effect?: 'Allow' | 'Deny';
  /** Principals (resource policies only). */
  readonly principals?: readonly { type: string; identifiers: readonly string[] }[];
}

function check(where: string, s: PolicyStatement): void {
  if (s.actions.length === 0) throw new Error(`${where}/${s.sid}: no actions`);
  for (const action of s.actions) {
    if (s.effect !== 'Deny' && !s.wildcardActionReason && (action === '*' || action.endsWith(':*'))) {
      throw new Error(`${where}/${s.sid}: wildcard action "${action}" is not allowed; list the exact actions`);
    }
  }
  if (s.resources.length === 0) throw new Error(`${where}/${s.sid}: no resources`);
  if (s.resources.includes('*') && !s.wildcardResourceReason && s.effect !== 'Deny') {
    throw new Error(`${where}/${s.sid}: resource "*" needs wildcardResourceReason`);
  }
}

/** A policy document from exact statements; statements with `enabledWhen` are dynamic. */
export function policyDocument(
  scope: Construct,
  id: string,
  statements: readonly PolicyStatement[],
): DataAwsIamPolicyDocument {
  for (const s of statements) check(id, s);
  const doc = new DataAwsIamPolicyDocument(scope, id, {
    statement: statements
      .filter((s) => s.enabledWhen === undefined)
      .map((s) => ({
        sid: s.sid,
        effect: s.effect ?? 'Allow',
        actions: [...s.actions],
        resources: [...s.resources],
        condition: s.conditions?.map((c) => ({ test: c.test, variable: c.variable, values: [...c.values] })),
        principals: s.principals?.map((p) => ({ type: p.type, identifiers: [...p.identifiers] })),
      })),
  });
  // Conditional statements become `dynamic "statement"` blocks: one synth serves every stack.
  const dynamic = statements.filter((s) => s.enabledWhen !== undefined);
  if (dynamic.length > 0) {
    doc.addOverride(
      'dynamic.statement',
      dynamic.map((s) => ({
        for_each: dynamicWhen(s.enabledWhen as string),
        content: {
          sid: s.sid,
          effect: s.effect ?? 'Allow',
          actions: [...s.actions],
          resources: [...s.resources],
          ...(s.conditions
            ? { condition: s.conditions.map((c) => ({ test: c.test, variable: c.variable, values: [...c.values] })) }
            : {}),
        },
      })),
    );
  }
  return doc;
}

/**
 * A resource-policy statement that denies every request not made over TLS
 * (aws:SecureTransport = false), for bucket and queue policies.
 */
export function denyInsecureTransport(service: 's3' | 'sqs' | 'sns', resources: readonly string[]): PolicyStatement {
  return {
    sid: 'DenyInsecureTransport',
    effect: 'Deny',
    // A Deny on the whole service is the point here; allow statements never use wildcards.
    actions: [`${service}:*`],
    resources,
    principals: [{ type: '*', identifiers: ['*'] }],
    conditions: [{ test: 'Bool', variable: 'aws:SecureTransport', values: ['false'] }],
  };
}

export interface ServiceRoleProps {
  /** Role name suffix after the label id, e.g. "firehose". */
  readonly suffix: string;
  /** Service principal allowed to assume the role, e.g. firehose.amazonaws.com. */
  readonly servicePrincipal: string;
  /** What the role is for. */
  readonly description: string;
  /**
   * The role's inline permissions. Leave out when they refer to resources that need the role
   * first (e.g. a key policy naming it), and add them with {@link rolePolicy}.
   */
  readonly statements?: readonly PolicyStatement[];
  /**
   * Restrict the trust policy to this account (aws:SourceAccount), against the confused-deputy
   * problem. @default true
   */
  readonly restrictToAccount?: boolean;
  /** `count` of the role and its policy, for roles of optional resources. @default one role */
  readonly count?: number;
}

/** An IAM role assumable by one AWS service, with one inline least-privilege policy. */
export function serviceRole(stack: PipelineStack, id: string, props: ServiceRoleProps): IamRole {
  const trust = new DataAwsIamPolicyDocument(stack, `${id}_trust`, {
    statement: [
      {
        sid: 'AssumeByService',
        effect: 'Allow',
        actions: ['sts:AssumeRole'],
        principals: [{ type: 'Service', identifiers: [props.servicePrincipal] }],
        condition:
          props.restrictToAccount === false
            ? undefined
            : [{ test: 'StringEquals', variable: 'aws:SourceAccount', values: [stack.accountId] }],
      },
    ],
  });
  const role = new IamRole(stack, id, {
    count: props.count,
    name: stack.resourceName(props.suffix),
    description: props.description,
    assumeRolePolicy: trust.json,
    maxSessionDuration: 3600,
  });
  if (props.statements) rolePolicy(stack, id, role, props.statements, props.count);
  return role;
}

/** The least-privilege inline policy `<roleId>_policy` of a role made by {@link serviceRole}. */
export function rolePolicy(
  stack: PipelineStack,
  roleId: string,
  role: IamRole,
  statements: readonly PolicyStatement[],
  count?: number,
): IamRolePolicy {
  const permissions = policyDocument(stack, `${roleId}_permissions`, statements);
  return new IamRolePolicy(stack, `${roleId}_policy`, {
    count,
    name: 'least-privilege',
    role: count === undefined ? role.id : first(role, 'id'),
    policy: permissions.json,
  });
}
