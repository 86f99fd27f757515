/**
 * Every component of the pipeline: Atmos component name → stack factory.
 * The Atmos component name is also the folder name under components/.
 */
import type { App, TerraformStack } from 'cdktf';
import { DynamodbLookupStack } from './dynamodb-lookup';
import { FirehoseOpensearchStack } from './firehose-opensearch';
import { FirehoseS3Stack } from './firehose-s3';
import { KinesisAnalyticsStack } from './kinesis-analytics';
import { KinesisIngestStack } from './kinesis-ingest';
import { KinesisOutputStack } from './kinesis-output';
import { LambdaEnrichmentStack } from './lambda-enrichment';
import { MonitoringStack } from './monitoring';
import { OpensearchStack } from './opensearch';
import { TimestreamStack } from './timestream';

export const COMPONENTS: Readonly<Record<string, (app: App) => TerraformStack>> = {
  monitoring: (app) => new MonitoringStack(app),
  'kinesis-ingest': (app) => new KinesisIngestStack(app),
  'kinesis-output': (app) => new KinesisOutputStack(app),
  'dynamodb-lookup': (app) => new DynamodbLookupStack(app),
  'lambda-enrichment': (app) => new LambdaEnrichmentStack(app),
  'firehose-s3': (app) => new FirehoseS3Stack(app),
  timestream: (app) => new TimestreamStack(app),
  'kinesis-analytics': (app) => new KinesisAnalyticsStack(app),
  opensearch: (app) => new OpensearchStack(app),
  'firehose-opensearch': (app) => new FirehoseOpensearchStack(app),
};
