/**
 * opensearch: the OpenSearch domain that serves the blueprint's real-time analytics (indices
 * events-YYYY-MM-DD, written by firehose-opensearch).
 *
 * Encrypted at rest and node to node, HTTPS with TLS 1.2+ only, fine-grained access control with
 * an IAM role as master user, optional VPC placement, slow/error logs with finite retention, and
 * an access policy that admits only the listed roles of this account.
 */
import { OpensearchDomain } from '@cdktf/provider-aws/lib/opensearch-domain';
import { Token } from 'cdktf';
import type { Construct } from 'constructs';
import { skipCheck } from '../shared/checkov';
import { deletionGuard } from '../shared/deletion-guard';
import { cond, dynamicWhen, expr, exprBool, exprNumber, splatRef } from '../shared/expressions';
import { logGroup } from '../shared/logs';
import { PipelineStack } from '../shared/pipeline-stack';
import { varRef } from '../shared/variables';
import { domainAlarms } from './alarms';
import { domainAccessPolicy, logPublishingPolicy } from './iam';
import { domainNetwork } from './network';
import { domainVariables } from './variables';

export { HTTP_ACTIONS } from './iam';

export { ENGINE_VERSIONS } from './variables';
const LOG_TYPES = {
  index_slow: 'INDEX_SLOW_LOGS',
  search_slow: 'SEARCH_SLOW_LOGS',
  application: 'ES_APPLICATION_LOGS',
  // Who did what inside the domain (needs fine-grained access control, which is on).
  audit: 'AUDIT_LOGS',
} as const;

export class OpensearchStack extends PipelineStack {
  constructor(scope: Construct, id = 'opensearch') {
    super(scope, id, { defaultName: 'search' });

    const v = domainVariables(this);

    const domainName = this.resourceName();
    const inVpc = `length(${v.subnets.fqn}) > 0`;
    const domainGroup = domainNetwork(this, { inVpc, vpcId: v.vpcId, clientGroups: v.clientGroups });

    const logGroups = Object.entries(LOG_TYPES).map(([suffix, type]) => ({
      type,
      group: logGroup(this, `${suffix}_logs`, {
        name: `/aws/opensearch/${domainName}/${suffix.replace('_', '-')}`,
        retentionDays: v.retentionDays,
      }),
    }));
    const logPolicy = logPublishingPolicy(
      this,
      logGroups.map(({ group }) => group),
    );

    const domain = new OpensearchDomain(this, 'domain', {
      domainName,
      engineVersion: v.engine.stringValue,
      clusterConfig: {
        instanceType: v.instanceType.stringValue,
        instanceCount: v.instanceCount.numberValue,
        zoneAwarenessEnabled: v.zoneAwareness.booleanValue,
        dedicatedMasterEnabled: v.dedicatedMasters.booleanValue,
        dedicatedMasterType: expr(cond(v.dedicatedMasters.fqn, v.masterType.fqn, 'null')),
        dedicatedMasterCount: exprNumber(cond(v.dedicatedMasters.fqn, v.masterCount.fqn, 'null')),
      },
      ebsOptions: {
        ebsEnabled: true,
        volumeType: 'gp3',
        volumeSize: v.volumeSize.numberValue,
        iops: v.iops.numberValue,
        throughput: v.throughput.numberValue,
      },
      encryptAtRest: { enabled: true, kmsKeyId: v.kmsKey.stringValue },
      nodeToNodeEncryption: { enabled: true },
      domainEndpointOptions: { enforceHttps: true, tlsSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10' },
      advancedSecurityOptions: {
        enabled: true,
        anonymousAuthEnabled: false,
        internalUserDatabaseEnabled: false,
        masterUserOptions: { masterUserArn: v.adminRole.stringValue },
      },
      logPublishingOptions: logGroups.map(({ type, group }) => ({
        logType: type,
        cloudwatchLogGroupArn: group.arn,
        enabled: true,
      })),
      offPeakWindowOptions: { enabled: true },
      dependsOn: [logPolicy],
      lifecycle: {
        precondition: [
          {
            condition: exprBool(`length(${this.labelIdExpression}) >= 3 && length(${this.labelIdExpression}) <= 28`),
            errorMessage:
              'Invalid label: OpenSearch domain names are 3-28 characters; shorten namespace, environment, stage or name.',
          },
          {
            condition: Token.asAny(`\${${inVpc} ? ${v.vpcId.fqn} != null : true}`),
            errorMessage: v.vpcRule,
          },
        ],
      },
    });
    // The zone count only with zone awareness: the provider sends ZoneAwarenessConfig only when
    // zone_awareness_enabled is true, so a block written regardless reappears in every plan.
    domain.addOverride('cluster_config.dynamic.zone_awareness_config', {
      for_each: dynamicWhen(v.zoneAwareness.fqn),
      content: { availability_zone_count: expr(v.azCount.fqn) },
    });
    // VPC placement only when subnets are given: a dynamic block, so one synth serves both.
    domain.addOverride('dynamic.vpc_options', {
      for_each: dynamicWhen(inVpc),
      content: { subnet_ids: expr(varRef(v.subnets)), security_group_ids: expr(splatRef(domainGroup, 'id')) },
    });
    const perStage =
      'set per stage by dedicated_master_enabled (prod turns it on) and dedicated_master_count (validated 3-5); checkov cannot evaluate the variable';
    skipCheck(domain, 'CKV_AWS_318', perStage);
    skipCheck(domain, 'CKV2_AWS_59', perStage);
    // Only the plans resolve the dynamic vpc_options block and the key variable.
    skipCheck(
      domain,
      'CKV_AWS_137',
      'public endpoint by default (subnet_ids = []), still the access policy admits only the listed roles of this account, with fine-grained access control and HTTPS with TLS 1.2; subnet_ids with vpc_id place the domain in a VPC',
      { planOnly: true },
    );
    skipCheck(
      domain,
      'CKV_AWS_248',
      'outside a VPC (subnet_ids = [], the default) the domain has no security group at all; in a VPC it gets its own domain_sg, never the default group',
      { planOnly: true },
    );
    skipCheck(
      domain,
      'CKV_AWS_247',
      'encrypted at rest with KMS either way: kms_key_arn selects a customer-managed key, default null = the AWS-managed OpenSearch key',
      { planOnly: true },
    );
    deletionGuard(this, 'domain_deletion_guard', {
      protectedId: domain.arn,
      what: `OpenSearch domain ${domainName}`,
      enabled: this.deletionProtection,
    });

    domainAccessPolicy(this, domain, { adminRole: v.adminRole, accessRoles: v.accessRoles });
    domainAlarms(this, domain, { freeStorageThresholdMb: v.freeStorageThreshold.numberValue });

    this.output('domain_name', domain.domainName, 'Name of the domain (firehose-opensearch domain_name).');
    this.output('domain_arn', domain.arn, 'ARN of the domain.');
    this.output('domain_endpoint', domain.endpoint, 'HTTPS endpoint of the domain (without scheme).');
    this.output('dashboard_endpoint', domain.dashboardEndpoint, 'OpenSearch Dashboards endpoint.');
  }
}
