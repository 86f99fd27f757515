/**
 * What was deployed, read back from the emulators' control plane (the data plane is configured
 * from this, not from the stack YAML):
 *
 *   Lambda            GetFunctionConfiguration (environment, timeout, CodeSha256),
 *                     ListEventSourceMappings / the mapping's settings
 *   Managed Flink     DescribeApplication: the `pipeline` property group, checkpoint configuration
 *   Firehose          DescribeDeliveryStream of both delivery streams
 *   SQS               the function's DLQ and the mapping's failures queue (GetQueueUrl)
 *
 * Where an emulator lacks what the component created (the `GAPS` of deploy.ts), the value comes
 * from `atmos describe component` vars resolved into the synthesized resource, and `sources`
 * says so for the report.
 */
import { DescribeDeliveryStreamCommand, FirehoseClient, type DeliveryStreamDescription } from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';

const REPO_ROOT = join(__dirname, '..', '..');
export const REGION = 'us-east-1';

type Bytes = string | ArrayBuffer | ArrayBufferView;
const u8 = (d: Bytes) => (typeof d === 'string' ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d));
/** node:crypto SHA-256 / HMAC for the signer. */
class Sha256 {
  private readonly h;
  constructor(secret?: Bytes) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', u8(secret));
  }
  update(d: Bytes): void {
    this.h.update(u8(d));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
}
/** Signed with the local stack's dummy credentials (never the caller's own: these go to emulators). */
const signer = (service: string) =>
  new SignatureV4({ service, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, sha256: Sha256 });

/** One signed request to an emulator (SigV4 with the local stack's dummy credentials). */
export async function awsCall(opts: {
  endpoint: string;
  service: string;
  method?: string;
  path?: string;
  target?: string;
  body?: unknown;
  contentType?: string;
}): Promise<{ status: number; json: unknown; text: string }> {
  const url = new URL(opts.path ?? '/', opts.endpoint);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = { host: url.host };
  if (opts.target) headers['x-amz-target'] = opts.target;
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/x-amz-json-1.1';
  const query: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (query[k] = v));
  const req = { method: opts.method ?? 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: url.pathname, query, headers, body };
  const signed = await signer(opts.service).sign(req);
  const res = await fetch(url, { method: signed.method, headers: signed.headers as Record<string, string>, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

async function ok(p: ReturnType<typeof awsCall>, what: string): Promise<Record<string, unknown>> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  return (r.json ?? {}) as Record<string, unknown>;
}

export interface MappingSettings {
  batchSize: number;
  maximumBatchingWindowInSeconds: number;
  startingPosition: 'LATEST' | 'TRIM_HORIZON';
  bisectBatchOnFunctionError: boolean;
  maximumRetryAttempts: number;
  maximumRecordAgeInSeconds: number;
  reportBatchItemFailures: boolean;
  onFailureQueueArn: string;
  eventSourceArn: string;
}

export interface Deployed {
  functionName: string;
  functionArn: string;
  roleArn: string;
  functionTimeoutMs: number;
  functionEnv: Record<string, string>;
  codeSha256: string;
  mapping: MappingSettings;
  ingestStreamArn: string;
  outputStreamArn: string;
  flinkProperties: Record<string, string>;
  flinkCheckpointSeconds: number | undefined;
  archiveDelivery: DeliveryStreamDescription;
  searchDelivery: DeliveryStreamDescription;
  /** Fallback only: the backup bucket the skipped firehose-opensearch would have created. */
  backupBucketToCreate: string | undefined;
  dlqUrl: string;
  failuresQueueUrl: string;
  lookupTable: string;
  /** Where each part came from: "emulator" or a fallback description (printed in the report). */
  sources: Record<string, string>;
}

/** Resolves `${var.x}` in a synthesized resource attribute with the stack's vars / the variable's default. */
function resolveVar(value: unknown, vars: Record<string, unknown>, variables: Record<string, { default?: unknown }>): unknown {
  if (typeof value !== 'string') return value;
  const m = /^\$\{var\.([a-z0-9_]+)\}$/.exec(value);
  if (!m) return value;
  const name = m[1]!;
  return name in vars ? vars[name] : variables[name]?.default;
}

export interface StackVars {
  [component: string]: Record<string, unknown>;
}

export async function readDeployed(opts: { moto: string; kinesis: string; vars: StackVars; label: (name: string) => string }): Promise<Deployed> {
  const sources: Record<string, string> = {};
  const { moto } = opts;
  const lambdaVars = opts.vars['lambda-enrichment']!;
  const functionName = opts.label(String(lambdaVars.name ?? 'enrichment'));
  const fc = await ok(awsCall({ endpoint: moto, service: 'lambda', method: 'GET', path: `/2015-03-31/functions/${functionName}/configuration` }), `GetFunctionConfiguration ${functionName}`);
  sources.function = 'emulator: Lambda GetFunctionConfiguration';
  const functionEnv = ((fc.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ?? {}) as Record<string, string>;

  // The mapping's failures queue: destination ARN → queue URL.
  const esmList = await ok(awsCall({ endpoint: moto, service: 'lambda', method: 'GET', path: `/2015-03-31/event-source-mappings/?FunctionName=${encodeURIComponent(functionName)}` }), 'ListEventSourceMappings');
  const esms = (esmList.EventSourceMappings ?? []) as Record<string, unknown>[];
  let mapping: MappingSettings;
  if (esms.length === 1) {
    const e = esms[0]!;
    mapping = {
      batchSize: Number(e.BatchSize),
      maximumBatchingWindowInSeconds: Number(e.MaximumBatchingWindowInSeconds ?? 0),
      startingPosition: e.StartingPosition as 'LATEST' | 'TRIM_HORIZON',
      bisectBatchOnFunctionError: Boolean(e.BisectBatchOnFunctionError),
      maximumRetryAttempts: Number(e.MaximumRetryAttempts ?? -1),
      maximumRecordAgeInSeconds: Number(e.MaximumRecordAgeInSeconds ?? -1),
      reportBatchItemFailures: ((e.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures'),
      onFailureQueueArn: String((e.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination ?? ''),
      eventSourceArn: String(e.EventSourceArn),
    };
    sources.mapping = 'emulator: Lambda ListEventSourceMappings';
  } else {
    // moto gap (deploy.ts GAPS): the synthesized mapping resolved with the stack's vars.
    const tf = JSON.parse(readFileSync(join(REPO_ROOT, 'components', 'lambda-enrichment', 'main.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, Record<string, unknown>>>;
      variable: Record<string, { default?: unknown }>;
    };
    const r = tf.resource.aws_lambda_event_source_mapping!.event_source!;
    const v = (k: string) => resolveVar(r[k], lambdaVars, tf.variable);
    mapping = {
      batchSize: Number(v('batch_size')),
      maximumBatchingWindowInSeconds: Number(v('maximum_batching_window_in_seconds')),
      startingPosition: v('starting_position') as 'LATEST' | 'TRIM_HORIZON',
      bisectBatchOnFunctionError: v('bisect_batch_on_function_error') === true,
      maximumRetryAttempts: Number(v('maximum_retry_attempts')),
      maximumRecordAgeInSeconds: Number(v('maximum_record_age_in_seconds')),
      reportBatchItemFailures: ((r.function_response_types ?? []) as string[]).includes('ReportBatchItemFailures'),
      onFailureQueueArn: '',
      eventSourceArn: '',
    };
    sources.mapping = 'fallback: components/lambda-enrichment/main.tf.json aws_lambda_event_source_mapping.event_source with `atmos describe component lambda-enrichment -s local` vars (moto refuses the consumer ARN)';
  }

  const sqsUrl = async (name: string) =>
    String((await ok(awsCall({ endpoint: moto, service: 'sqs', target: 'AmazonSQS.GetQueueUrl', body: { QueueName: name }, contentType: 'application/x-amz-json-1.0' }), `GetQueueUrl ${name}`)).QueueUrl);
  const dlqName = functionEnv.DLQ_URL!.split('/').pop()!;
  const dlqUrl = await sqsUrl(dlqName);
  const failuresName = mapping.onFailureQueueArn ? mapping.onFailureQueueArn.split(':').pop()! : `${functionName}-failures`;
  const failuresQueueUrl = await sqsUrl(failuresName);
  if (!mapping.onFailureQueueArn) {
    mapping.onFailureQueueArn = `arn:aws:sqs:${REGION}:123456789012:${failuresName}`;
    sources.failuresQueue = `fallback: queue named ${failuresName} (the component's naming)`;
  }

  const ingestStreamArn = `arn:aws:kinesis:${REGION}:123456789012:stream/${String(lambdaVars.source_stream_name)}`;
  const outputStreamArn = `arn:aws:kinesis:${REGION}:123456789012:stream/${String(lambdaVars.destination_stream_name)}`;
  if (!mapping.eventSourceArn) mapping.eventSourceArn = ingestStreamArn;

  // Managed Flink
  const flinkVars = opts.vars['kinesis-analytics']!;
  const appName = opts.label(String(flinkVars.name ?? 'analytics'));
  const app = await awsCall({ endpoint: moto, service: 'kinesisanalytics', target: 'KinesisAnalytics_20180523.DescribeApplication', body: { ApplicationName: appName } });
  let flinkProperties: Record<string, string>;
  let flinkCheckpointSeconds: number | undefined;
  if (app.status < 300) {
    const d = (app.json as { ApplicationDetail: Record<string, any> }).ApplicationDetail; // eslint-disable-line @typescript-eslint/no-explicit-any -- DescribeApplication's nested shape
    const groups = (d.ApplicationConfigurationDescription?.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions ?? []) as { PropertyGroupId: string; PropertyMap: Record<string, string> }[];
    const group = groups.find((g) => g.PropertyGroupId === 'pipeline');
    if (!group) throw new Error(`DescribeApplication ${appName}: no property group "pipeline" (has ${groups.map((g) => g.PropertyGroupId).join(', ') || 'none'})`);
    flinkProperties = group.PropertyMap;
    const cp = d.ApplicationConfigurationDescription?.FlinkApplicationConfigurationDescription?.CheckpointConfigurationDescription;
    if (cp?.ConfigurationType === 'CUSTOM' && cp.CheckpointInterval) flinkCheckpointSeconds = Number(cp.CheckpointInterval) / 1000;
    sources.flink = 'emulator: Managed Flink DescribeApplication';
  } else {
    // moto gap (the jar upload, deploy.ts GAPS): the property group's documented keys (flink/README.md) from the vars.
    const fv = (k: string, d: unknown) => String(flinkVars[k] ?? d);
    flinkProperties = {
      'aws.region': REGION,
      'input.stream.arn': `arn:aws:kinesis:${REGION}:123456789012:stream/${String(flinkVars.source_stream_name)}`,
      'output.stream.arn': `arn:aws:kinesis:${REGION}:123456789012:stream/${String(flinkVars.destination_stream_name)}`,
      'input.reader': fv('input_reader', 'POLLING'),
      'input.initial.position': fv('initial_position', 'LATEST'),
      'window.size.minutes': fv('window_size_minutes', 5),
      'window.allowed.lateness.seconds': fv('allowed_lateness_seconds', 0),
      'watermark.out.of.orderness.seconds': fv('out_of_orderness_seconds', 30),
      'watermark.idleness.seconds': fv('idleness_seconds', 60),
      'timestream.enabled': fv('timestream_enabled', false),
    };
    if (flinkProperties['input.reader'] === 'EFO') flinkProperties['input.efo.consumer.name'] = fv('efo_consumer_name', '');
    if (flinkProperties['timestream.enabled'] === 'true') {
      flinkProperties['timestream.database'] = fv('timestream_database_name', '');
      flinkProperties['timestream.table'] = fv('timestream_table_name', '');
    }
    sources.flink = `fallback: the pipeline property group built from \`atmos describe component kinesis-analytics -s local\` vars (DescribeApplication ${appName}: HTTP ${app.status}; moto cannot store the jar)`;
  }

  const firehose = new FirehoseClient({ endpoint: moto, region: REGION, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' }, requestHandler: new NodeHttpHandler() });
  const describeDelivery = async (component: string): Promise<DeliveryStreamDescription | undefined> => {
    const name = opts.label(String(opts.vars[component]!.name));
    try {
      return (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name }))).DeliveryStreamDescription;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  };
  const archiveDelivery = await describeDelivery('firehose-s3');
  if (!archiveDelivery) throw new Error('DescribeDeliveryStream (firehose-s3) failed: was firehose-s3 deployed?');
  sources.archiveDelivery = 'emulator: Firehose DescribeDeliveryStream';
  let searchDelivery: DeliveryStreamDescription | undefined = await describeDelivery('firehose-opensearch');
  let backupBucketToCreate: string | undefined;
  if (searchDelivery) {
    sources.searchDelivery = 'emulator: Firehose DescribeDeliveryStream';
  } else {
    // moto gap (deploy.ts GAPS): the synthesized delivery stream resolved with the stack's vars,
    // in DescribeDeliveryStream's shape; its backup bucket is created bare (no KMS, policy) in moto.
    const fv = opts.vars['firehose-opensearch']!;
    const tf = JSON.parse(readFileSync(join(REPO_ROOT, 'components', 'firehose-opensearch', 'main.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, Record<string, any>>>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Terraform JSON
      variable: Record<string, { default?: unknown }>;
    };
    const c = tf.resource.aws_kinesis_firehose_delivery_stream!.delivery!.opensearch_configuration;
    const v = (x: unknown) => resolveVar(x, fv, tf.variable);
    const name = opts.label(String(fv.name));
    backupBucketToCreate = `${name}-failed`;
    searchDelivery = {
      DeliveryStreamName: name,
      DeliveryStreamType: 'KinesisStreamAsSource',
      DeliveryStreamARN: `arn:aws:firehose:${REGION}:123456789012:deliverystream/${name}`,
      DeliveryStreamStatus: 'ACTIVE',
      VersionId: '1',
      HasMoreDestinations: false,
      Source: { KinesisStreamSourceDescription: { KinesisStreamARN: `arn:aws:kinesis:${REGION}:123456789012:stream/${String(fv.source_stream_name)}` } },
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          AmazonopensearchserviceDestinationDescription: {
            IndexName: c.index_name,
            IndexRotationPeriod: v(c.index_rotation_period) as 'OneDay',
            BufferingHints: { IntervalInSeconds: Number(v(c.buffering_interval)), SizeInMBs: Number(v(c.buffering_size)) },
            RetryOptions: { DurationInSeconds: Number(v(c.retry_duration)) },
            S3BackupMode: c.s3_backup_mode,
            DocumentIdOptions: { DefaultDocumentIdFormat: c.document_id_options.default_document_id_format },
            S3DestinationDescription: {
              BucketARN: `arn:aws:s3:::${backupBucketToCreate}`,
              Prefix: c.s3_configuration.prefix,
              ErrorOutputPrefix: c.s3_configuration.error_output_prefix,
              CompressionFormat: c.s3_configuration.compression_format,
              RoleARN: `arn:aws:iam::123456789012:role/${name}`,
              BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 5 },
              EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
            },
          },
        },
      ],
    };
    sources.searchDelivery = `fallback: components/firehose-opensearch/main.tf.json aws_kinesis_firehose_delivery_stream.delivery with \`atmos describe component firehose-opensearch -s local\` vars; backup bucket ${backupBucketToCreate} created bare (moto has no OpenSearch destination)`;
  }

  return {
    functionName,
    functionArn: String(fc.FunctionArn),
    roleArn: String(fc.Role),
    functionTimeoutMs: Number(fc.Timeout ?? 60) * 1000,
    functionEnv,
    codeSha256: String(fc.CodeSha256),
    mapping,
    ingestStreamArn,
    outputStreamArn,
    flinkProperties,
    flinkCheckpointSeconds,
    archiveDelivery,
    searchDelivery: searchDelivery!,
    backupBucketToCreate,
    dlqUrl,
    failuresQueueUrl,
    lookupTable: functionEnv.LOOKUP_TABLE_NAME!,
    sources,
  };
}
