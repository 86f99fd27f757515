/**
 * timestream: a Timestream for LiveAnalytics database and table for the Flink aggregates.
 *
 * Optional: AWS closed Timestream for LiveAnalytics to new customers in 2025, so the component is
 * in every stack but creates nothing unless `enabled` (the stacks/mixins/features/timestream
 * mixin turns it on and points kinesis-analytics at it). Late aggregates (re-fired windows) land
 * in the magnetic store, so magnetic-store writes are on.
 */
import { TimestreamwriteDatabase } from '@cdktf/provider-aws/lib/timestreamwrite-database';
import { TimestreamwriteTable } from '@cdktf/provider-aws/lib/timestreamwrite-table';
import type { Construct } from 'constructs';
import { skipCheck } from '../shared/checkov';
import { countWhen, first, whenEnabled } from '../shared/expressions';
import { deletionGuard } from '../shared/deletion-guard';
import { KMS_KEY_ARN } from '../shared/patterns';
import { PipelineStack } from '../shared/pipeline-stack';
import { boolVariable, numberVariable, stringVariable } from '../shared/variables';

export class TimestreamStack extends PipelineStack {
  constructor(scope: Construct, id = 'timestream') {
    super(scope, id, { defaultName: 'metrics' });
    const enabled = boolVariable(this, 'enabled', {
      description: 'Create the database and table (only for accounts that have Timestream for LiveAnalytics).',
      default: false,
    });
    const count = countWhen(enabled.fqn);
    const kmsKey = stringVariable(this, 'kms_key_arn', {
      description: 'Customer KMS key for the database; null = the AWS-managed Timestream key.',
      default: null,
      pattern: KMS_KEY_ARN,
    });
    const memoryHours = numberVariable(this, 'memory_store_retention_hours', {
      description: 'Hours records stay in the fast memory store (queries on recent windows).',
      default: 24,
      min: 1,
      max: 8766,
      unit: 'hours',
    });
    const magneticDays = numberVariable(this, 'magnetic_store_retention_days', {
      description: 'Days records stay in the magnetic store before deletion.',
      default: 365,
      min: 1,
      max: 73_000,
      unit: 'days',
    });

    const database = new TimestreamwriteDatabase(this, 'database', {
      count,
      databaseName: this.resourceName(),
      kmsKeyId: kmsKey.stringValue,
    });
    skipCheck(
      database,
      'CKV_AWS_160',
      'encrypted with KMS either way: kms_key_arn selects a customer-managed key, default null = the AWS-managed Timestream key (derived aggregates, re-computable from the stream)',
      { planOnly: true },
    );
    const table = new TimestreamwriteTable(this, 'table', {
      count,
      databaseName: first(database, 'database_name'),
      tableName: 'aggregates',
      retentionProperties: {
        memoryStoreRetentionPeriodInHours: memoryHours.numberValue,
        magneticStoreRetentionPeriodInDays: magneticDays.numberValue,
      },
      magneticStoreWriteProperties: { enableMagneticStoreWrites: true },
    });
    deletionGuard(this, 'table_deletion_guard', {
      count,
      protectedId: first(table, 'arn'),
      what: `Timestream table ${first(table, 'table_name')}`,
      enabled: this.deletionProtection,
    });

    this.output(
      'database_name',
      whenEnabled(enabled.fqn, database, 'database_name'),
      'Timestream database (kinesis-analytics timestream_database_name), or "".',
    );
    this.output(
      'table_name',
      whenEnabled(enabled.fqn, table, 'table_name'),
      'Timestream table (kinesis-analytics timestream_table_name), or "".',
    );
    this.output('table_arn', whenEnabled(enabled.fqn, table, 'arn'), 'ARN of the Timestream table, or "".');
  }
}
