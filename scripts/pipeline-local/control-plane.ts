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
 * `atmos describe component` vars give only names (the label convention) and the stream names;
 * every setting comes from the emulators (with the moto patches of tools/moto/ they hold every
 * resource the stack creates). `sources` says where each part came from, for the report.
 */
import {
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  type DeliveryStreamDescription,
} from '@aws-sdk/client-firehose';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';

export const REGION = 'us-east-1';

type Bytes = string | ArrayBuffer | ArrayBufferView;
const u8 = (d: Bytes) =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
      : new Uint8Array(d);
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
  new SignatureV4({
    service,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    sha256: Sha256,
  });

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
  for (const [k, v] of url.searchParams) query[k] = v;
  const req = {
    method: opts.method ?? 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: Number(url.port),
    path: url.pathname,
    query,
    headers,
    body,
  };
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
  dlqUrl: string;
  failuresQueueUrl: string;
  lookupTable: string;
  /** Where each part came from: "emulator" or a fallback description (printed in the report). */
  sources: Record<string, string>;
}

export interface StackVars {
  [component: string]: Record<string, unknown>;
}

export async function readDeployed(opts: {
  moto: string;
  kinesis: string;
  vars: StackVars;
  label: (name: string) => string;
}): Promise<Deployed> {
  const sources: Record<string, string> = {};
  const { moto } = opts;
  const lambdaVars = opts.vars['lambda-enrichment']!;
  const functionName = opts.label(String(lambdaVars.name ?? 'enrichment'));
  const fc = await ok(
    awsCall({
      endpoint: moto,
      service: 'lambda',
      method: 'GET',
      path: `/2015-03-31/functions/${functionName}/configuration`,
    }),
    `GetFunctionConfiguration ${functionName}`,
  );
  sources.function = 'emulator: Lambda GetFunctionConfiguration';
  const functionEnv = ((fc.Environment as { Variables?: Record<string, string> } | undefined)?.Variables ??
    {}) as Record<string, string>;

  // ListEventSourceMappings: moto filters FunctionName by the exact string it stored (the ARN
  // the component passes), so list all and pick the function's.
  const esmList = await ok(
    awsCall({ endpoint: moto, service: 'lambda', method: 'GET', path: '/2015-03-31/event-source-mappings/' }),
    'ListEventSourceMappings',
  );
  const esms = ((esmList.EventSourceMappings ?? []) as Record<string, unknown>[]).filter(
    (e) => e.FunctionArn === fc.FunctionArn,
  );
  if (esms.length !== 1)
    throw new Error(
      `ListEventSourceMappings: expected one mapping for ${String(fc.FunctionArn)}, found ${esms.length} (was lambda-enrichment deployed?)`,
    );
  const e = esms[0]!;
  const mapping: MappingSettings = {
    batchSize: Number(e.BatchSize),
    maximumBatchingWindowInSeconds: Number(e.MaximumBatchingWindowInSeconds ?? 0),
    startingPosition: e.StartingPosition as 'LATEST' | 'TRIM_HORIZON',
    bisectBatchOnFunctionError: Boolean(e.BisectBatchOnFunctionError),
    maximumRetryAttempts: Number(e.MaximumRetryAttempts ?? -1),
    maximumRecordAgeInSeconds: Number(e.MaximumRecordAgeInSeconds ?? -1),
    reportBatchItemFailures: ((e.FunctionResponseTypes ?? []) as string[]).includes('ReportBatchItemFailures'),
    onFailureQueueArn: String(
      (e.DestinationConfig as { OnFailure?: { Destination?: string } } | undefined)?.OnFailure?.Destination ?? '',
    ),
    eventSourceArn: String(e.EventSourceArn),
  };
  if (!/^arn:aws:sqs:/.test(mapping.onFailureQueueArn))
    throw new Error(
      `event source mapping ${String(e.UUID)}: no SQS on-failure destination (${mapping.onFailureQueueArn || 'none'})`,
    );
  sources.mapping = 'emulator: Lambda ListEventSourceMappings';

  const sqsUrl = async (name: string) =>
    String(
      (
        await ok(
          awsCall({
            endpoint: moto,
            service: 'sqs',
            target: 'AmazonSQS.GetQueueUrl',
            body: { QueueName: name },
            contentType: 'application/x-amz-json-1.0',
          }),
          `GetQueueUrl ${name}`,
        )
      ).QueueUrl,
    );
  const dlqName = functionEnv.DLQ_URL!.split('/').pop()!;
  const dlqUrl = await sqsUrl(dlqName);
  const failuresQueueUrl = await sqsUrl(mapping.onFailureQueueArn.split(':').pop()!);

  const ingestStreamArn = `arn:aws:kinesis:${REGION}:123456789012:stream/${String(lambdaVars.source_stream_name)}`;
  const outputStreamArn = `arn:aws:kinesis:${REGION}:123456789012:stream/${String(lambdaVars.destination_stream_name)}`;

  // Managed Flink
  const flinkVars = opts.vars['kinesis-analytics']!;
  const appName = opts.label(String(flinkVars.name ?? 'analytics'));
  const app = await awsCall({
    endpoint: moto,
    service: 'kinesisanalytics',
    target: 'KinesisAnalytics_20180523.DescribeApplication',
    body: { ApplicationName: appName },
  });
  if (app.status >= 300)
    throw new Error(
      `DescribeApplication ${appName}: HTTP ${app.status} ${app.text.slice(0, 300)} (was kinesis-analytics deployed?)`,
    );
  // biome-ignore lint/suspicious/noExplicitAny: DescribeApplication's nested shape, read field by field below
  const d = (app.json as { ApplicationDetail: Record<string, any> }).ApplicationDetail;
  const groups = (d.ApplicationConfigurationDescription?.EnvironmentPropertyDescriptions?.PropertyGroupDescriptions ??
    []) as { PropertyGroupId: string; PropertyMap: Record<string, string> }[];
  const group = groups.find((g) => g.PropertyGroupId === 'pipeline');
  if (!group)
    throw new Error(
      `DescribeApplication ${appName}: no property group "pipeline" (has ${groups.map((g) => g.PropertyGroupId).join(', ') || 'none'})`,
    );
  const flinkProperties = group.PropertyMap;
  const cp =
    d.ApplicationConfigurationDescription?.FlinkApplicationConfigurationDescription?.CheckpointConfigurationDescription;
  const flinkCheckpointSeconds =
    cp?.ConfigurationType === 'CUSTOM' && cp.CheckpointInterval ? Number(cp.CheckpointInterval) / 1000 : undefined;
  sources.flink = `emulator: Managed Flink DescribeApplication (checkpoints ${flinkCheckpointSeconds ? `CUSTOM every ${flinkCheckpointSeconds} s` : 'DEFAULT'})`;

  const firehose = new FirehoseClient({
    endpoint: moto,
    region: REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    requestHandler: new NodeHttpHandler(),
  });
  const describeDelivery = async (component: string): Promise<DeliveryStreamDescription | undefined> => {
    const name = opts.label(String(opts.vars[component]!.name));
    try {
      return (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
        .DeliveryStreamDescription;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return undefined;
      throw e;
    }
  };
  const archiveDelivery = await describeDelivery('firehose-s3');
  if (!archiveDelivery) throw new Error('DescribeDeliveryStream (firehose-s3) failed: was firehose-s3 deployed?');
  sources.archiveDelivery = 'emulator: Firehose DescribeDeliveryStream';
  const searchDelivery = await describeDelivery('firehose-opensearch');
  if (!searchDelivery)
    throw new Error('DescribeDeliveryStream (firehose-opensearch) failed: was firehose-opensearch deployed?');
  sources.searchDelivery = 'emulator: Firehose DescribeDeliveryStream';

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
    searchDelivery,
    dlqUrl,
    failuresQueueUrl,
    lookupTable: functionEnv.LOOKUP_TABLE_NAME!,
    sources,
  };
}
