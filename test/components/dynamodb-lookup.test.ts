/** dynamodb-lookup as synthesized: the table's safety settings and the optional DAX cluster. */
import { describe, expect, it } from 'vitest';
import { policyDocument } from '../support/iam-policy';
import { onlyResource, readComponent, resourcesOf } from '../support/synth';

const tf = readComponent('dynamodb-lookup');
const [, table] = onlyResource(tf, 'aws_dynamodb_table');

describe('lookup table', () => {
  it('is keyed by pk (string), on demand, with PITR, KMS encryption and deletion protection', () => {
    expect(table).toMatchObject({
      name: '${local.label_id}',
      hash_key: 'pk',
      attribute: [{ name: 'pk', type: 'S' }],
      billing_mode: 'PAY_PER_REQUEST',
      point_in_time_recovery: { enabled: true },
      server_side_encryption: { enabled: true, kms_key_arn: '${var.kms_key_arn}' },
      deletion_protection_enabled: '${var.deletion_protection}',
    });
  });
});

describe('DAX', () => {
  const [, cluster] = onlyResource(tf, 'aws_dax_cluster');

  it('exists only when dax_enabled, with SSE and TLS endpoints', () => {
    expect(cluster.count).toBe('${var.dax_enabled ? 1 : 0}');
    expect(cluster.server_side_encryption).toEqual({ enabled: true });
    expect(cluster.cluster_endpoint_encryption_type).toBe('TLS');
    expect(cluster.security_group_ids).toEqual(['${aws_security_group.dax_sg[0].id}']);
    expect(cluster.subnet_group_name).toBe('${aws_dax_subnet_group.dax_subnets[0].name}');
    for (const type of [
      'aws_security_group',
      'aws_dax_subnet_group',
      'aws_iam_role',
      'aws_vpc_security_group_ingress_rule',
    ]) {
      for (const [name, r] of Object.entries(resourcesOf(tf, type)))
        expect(r.count, `${type}.${name}`).toBe('${var.dax_enabled ? 1 : 0}');
    }
  });

  it('admits only the DAX client group, on the TLS port', () => {
    const ingress = Object.values(resourcesOf(tf, 'aws_vpc_security_group_ingress_rule'));
    expect(ingress).toHaveLength(1);
    expect(ingress[0]).toMatchObject({
      security_group_id: '${aws_security_group.dax_sg[0].id}',
      referenced_security_group_id: '${aws_security_group.dax_client_sg[0].id}',
      ip_protocol: 'tcp',
      from_port: 9111,
      to_port: 9111,
    });
    expect(JSON.stringify(tf.resource)).not.toContain('0.0.0.0/0');
  });

  it('reads the table through a read-only role', () => {
    expect(policyDocument(tf, 'dax_role_permissions').fixedBlocks()).toEqual([
      expect.objectContaining({
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
        resources: ['${aws_dynamodb_table.table.arn}'],
      }),
    ]);
  });

  it('refuses DAX without VPC wiring, naming the variables', () => {
    const sg = resourcesOf(tf, 'aws_security_group').dax_client_sg!;
    const precondition = (sg.lifecycle as { precondition: { error_message: string }[] }).precondition[0]!;
    expect(precondition.error_message).toMatch(/dax_enabled: true needs vpc_id and .*dax_subnet_ids/);
  });
});
