/** Customer-managed KMS keys with rotation, an alias and a key policy that names its users. */
import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key';
import { skipCheck } from './checkov';
import { first } from './expressions';
import { policyDocument, type PolicyStatement } from './iam';
import type { PipelineStack } from './pipeline-stack';

/** Condition: the key may be used only through `service` in this region (e.g. S3 on our behalf). */
export function viaService(
  stack: PipelineStack,
  service: string,
): { test: string; variable: string; values: string[] }[] {
  return [{ test: 'StringEquals', variable: 'kms:ViaService', values: [`${service}.${stack.region}.amazonaws.com`] }];
}

export interface CustomerKeyProps {
  /** Alias and description suffix after the label id, e.g. "archive". */
  readonly suffix: string;
  readonly description: string;
  /** Who may use the key, and how (principals and conditions such as kms:ViaService). */
  readonly users: readonly PolicyStatement[];
  /** `count` for keys of optional resources. */
  readonly count?: number;
}

/**
 * A symmetric key with yearly rotation. Its policy lets the account administer the key (without
 * that statement a key can become unmanageable) and lets only the listed users use it.
 */
export function customerKey(stack: PipelineStack, id: string, props: CustomerKeyProps): KmsKey {
  const policy = policyDocument(stack, `${id}_policy`, [
    {
      sid: 'AccountAdministersKey',
      actions: ['kms:*'],
      wildcardActionReason: 'the account root must keep full control of the key, or it can become unmanageable',
      resources: ['*'],
      wildcardResourceReason: 'in a key policy "*" means this key',
      principals: [{ type: 'AWS', identifiers: [`arn:${stack.partition}:iam::${stack.accountId}:root`] }],
    },
    ...props.users,
  ]);
  const keyPolicyReason =
    'key policy: "*" resource means this key; the account-root statement is AWS\'s default that keeps the key manageable, and every user statement is limited by principal and kms:ViaService/aws:SourceAccount';
  for (const check of ['CKV_AWS_109', 'CKV_AWS_111', 'CKV_AWS_356']) skipCheck(policy, check, keyPolicyReason);
  const key = new KmsKey(stack, id, {
    count: props.count,
    description: props.description,
    enableKeyRotation: true,
    deletionWindowInDays: 30,
    policy: policy.json,
  });
  new KmsAlias(stack, `${id}_alias`, {
    count: props.count,
    name: `alias/${stack.resourceName(props.suffix)}`,
    targetKeyId: props.count === undefined ? key.keyId : first(key, 'key_id'),
  });
  return key;
}
