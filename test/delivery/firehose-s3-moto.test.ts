/**
 * firehose-s3 delivery semantics against a real moto server (moto 5.2.5), with the ExtendedS3
 * settings read from the synthesized components/firehose-s3/main.tf.json (variables at their
 * defaults): prefixes, error prefix, compression, buffering, processing, dynamic partitioning.
 *
 * What moto implements, and this file asserts: CreateDeliveryStream stores and describes the
 * configuration; DirectPut PutRecord/PutRecordBatch write the record bytes, unchanged, as one S3
 * object per call under `<Prefix>` + arrival hour `YYYY/MM/DD/HH/` (UTC) +
 * `<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`.
 *
 * What moto does NOT emulate (each pinned below, so an upgrade that adds it is noticed):
 * - Kinesis stream as source: nothing is read from the stream; and PutRecord on a
 *   KinesisStreamAsSource delivery stream is accepted (AWS refuses it);
 * - dynamic partitioning / JQ MetadataExtraction: `!{partitionKeyFromQuery:…}` stays literal;
 * - `!{timestamp:…}` (and `!{firehose:…}`) expressions: stay literal, and moto appends its own
 *   arrival-hour `YYYY/MM/DD/HH/` even though AWS does not for a prefix with expressions;
 * - compression: GZIP is stored in the configuration, objects are written uncompressed;
 * - AppendDelimiterToRecord: records are concatenated with no delimiter;
 * - buffering: every Put call is one object immediately (hints ignored);
 * - error output: a record that cannot be partitioned lands under the normal prefix; a failed
 *   delivery (missing bucket) is an HTTP 500 to the producer, nothing under ErrorOutputPrefix;
 * - the delivery stream's KMS key (S3's own bucket default encryption still applies);
 * - configuration validation AWS does (dynamic partitioning needs ≥ 64 MB buffering, etc.).
 *
 * Needs @aws-sdk/client-firehose and @aws-sdk/client-s3 (3.1143.0, like the other clients).
 */
import {
  type CompressionFormat,
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  type ExtendedS3DestinationConfiguration,
  FirehoseClient,
  PutRecordBatchCommand,
  PutRecordCommand,
} from '@aws-sdk/client-firehose';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordCommand as PutKinesisRecordCommand,
} from '@aws-sdk/client-kinesis';
import {
  CreateBucketCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  ListObjectsV2Command,
  PutBucketEncryptionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { archiveProcessing } from '../support/firehose';
import { useMotoServer } from '../support/moto';
import { onlyResource, readComponent } from '../support/synth';

const moto = useMotoServer();
const ACCOUNT = '123456789012';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/acme-ue1-local-archive-archive-delivery`;
const KEY_ARN = `arn:aws:kms:us-east-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;

// ---- the synthesized configuration ------------------------------------------------------------

interface SynthesizedExtendedS3 {
  prefix: string;
  error_output_prefix: string;
  compression_format: string;
  buffering_size: string;
  buffering_interval: string;
  dynamic_partitioning_configuration: { enabled: string; retry_duration: number };
}

const tf = readComponent('firehose-s3');
const ext = onlyResource(tf, 'aws_kinesis_firehose_delivery_stream')[1]
  .extended_s3_configuration as SynthesizedExtendedS3;

/** A literal, or `${var.x}` resolved to the variable's default (what a stack that sets nothing gets). */
function resolve(expression: string | number): unknown {
  if (typeof expression === 'number') return expression;
  const ref = expression.match(/^\$\{var\.([a-z0-9_]+)\}$/);
  if (!ref) {
    expect(expression, 'an expression this test cannot resolve').not.toContain('${');
    return expression;
  }
  const variable = tf.variable[ref[1]!];
  expect(variable && 'default' in variable, `var.${ref[1]} has a default`).toBe(true);
  return variable!.default;
}

/** The two prefix variants: with dynamic partitioning (the default) and by arrival time. */
const prefixes = (() => {
  const m = ext.prefix.match(/^\$\{var\.dynamic_partitioning_enabled \? "([^"]*)" : "([^"]*)"\}$/);
  if (!m) throw new Error(`unexpected prefix expression: ${ext.prefix}`);
  return { eventHour: m[1]!, arrivalTime: m[2]! };
})();

/** ExtendedS3DestinationConfiguration as the component declares it, for one bucket. */
function destination(bucket: string, dynamicPartitioning: boolean): ExtendedS3DestinationConfiguration {
  return {
    RoleARN: ROLE_ARN,
    BucketARN: `arn:aws:s3:::${bucket}`,
    Prefix: dynamicPartitioning ? prefixes.eventHour : prefixes.arrivalTime,
    ErrorOutputPrefix: ext.error_output_prefix,
    CompressionFormat: ext.compression_format as CompressionFormat,
    BufferingHints: {
      SizeInMBs: resolve(ext.buffering_size) as number,
      IntervalInSeconds: resolve(ext.buffering_interval) as number,
    },
    EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: KEY_ARN } },
    CloudWatchLoggingOptions: {
      Enabled: true,
      LogGroupName: '/aws/kinesisfirehose/acme-ue1-local-archive',
      LogStreamName: 'DestinationDelivery',
    },
    DynamicPartitioningConfiguration: {
      Enabled: dynamicPartitioning,
      RetryOptions: { DurationInSeconds: ext.dynamic_partitioning_configuration.retry_duration },
    },
    ProcessingConfiguration: archiveProcessing(tf, dynamicPartitioning),
  };
}

// ---- moto clients and helpers -----------------------------------------------------------------

let firehose: FirehoseClient;
let s3: S3Client;
let kinesis: KinesisClient;
beforeAll(() => {
  firehose = new FirehoseClient(moto.clientConfig());
  // Path-style (no <bucket>.127.0.0.1 host names); no flexible checksums (not needed by moto).
  s3 = new S3Client({
    ...moto.clientConfig(),
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  kinesis = new KinesisClient(moto.clientConfig());
});

let counter = 0;
/** A fresh bucket and a DirectPut delivery stream into it with the synthesized settings. */
async function deliveryStream(options: { dynamicPartitioning: boolean; bucketExists?: boolean }) {
  counter += 1;
  const name = `acme-ue1-local-archive-${counter}`;
  const bucket = `acme-ue1-local-archive-raw-${counter}`;
  if (options.bucketExists !== false) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: name,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: destination(bucket, options.dynamicPartitioning),
    }),
  );
  return { name, bucket };
}

interface StoredObject {
  key: string;
  body: Buffer;
  object: GetObjectCommandOutput;
}

async function objects(bucket: string, prefix?: string): Promise<StoredObject[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}) }));
  const out: StoredObject[] = [];
  for (const { Key } of listed.Contents ?? []) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: Key! }));
    out.push({ key: Key!, body: Buffer.from(await object.Body!.transformToByteArray()), object });
  }
  return out;
}

const rawEvent = (i: number, timestamp = '2024-03-05T07:08:09Z') => ({
  event_id: `evt-${i}`,
  customer_id: `cust-${i % 3}`,
  event_type: 'page_view',
  timestamp,
  payload: { path: `/p/${i}`, ünïcödé: '✓' },
});
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

/** `YYYY/MM/DD/HH` (UTC), moto's arrival-hour folder. */
const hourFolder = (d: Date) => d.toISOString().slice(0, 13).replace(/-/g, '/').replace('T', '/');
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** moto's object key: <prefix><YYYY/MM/DD/HH>/<stream>-<version>-<YYYY-MM-DD-HH-MM-SS>-<uuid>. */
function keyPattern(prefix: string, stream: string): RegExp {
  return new RegExp(
    `^${escapeRegex(prefix)}(\\d{4}/\\d{2}/\\d{2}/\\d{2})/${escapeRegex(stream)}-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f-]{36}$`,
  );
}

// ---- what moto implements ---------------------------------------------------------------------

describe('firehose-s3 delivery (moto): what moto implements', () => {
  it('the synthesized settings are the documented ones', () => {
    expect(prefixes.eventHour).toBe(
      'raw/year=!{partitionKeyFromQuery:year}/month=!{partitionKeyFromQuery:month}/day=!{partitionKeyFromQuery:day}/hour=!{partitionKeyFromQuery:hour}/',
    );
    expect(prefixes.arrivalTime).toBe(
      'raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
    );
    expect(ext.error_output_prefix).toMatch(/^errors\/!\{firehose:error-output-type\}\//);
    expect(ext.compression_format).toBe('GZIP');
    expect(resolve(ext.buffering_size)).toBe(64);
    expect(resolve(ext.buffering_interval)).toBe(300);
  });

  it.each([true, false])(
    'accepts and describes the synthesized configuration (dynamic partitioning %s)',
    async (dynamicPartitioning) => {
      const { name, bucket } = await deliveryStream({ dynamicPartitioning });
      const described = (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
        .DeliveryStreamDescription!;
      expect(described.DeliveryStreamStatus).toBe('ACTIVE');
      expect(described.DeliveryStreamType).toBe('DirectPut');
      const d = described.Destinations![0]!.ExtendedS3DestinationDescription!;
      const wanted = destination(bucket, dynamicPartitioning);
      expect(d).toMatchObject({
        BucketARN: wanted.BucketARN,
        Prefix: wanted.Prefix,
        ErrorOutputPrefix: wanted.ErrorOutputPrefix,
        CompressionFormat: 'GZIP',
        BufferingHints: { SizeInMBs: 64, IntervalInSeconds: 300 },
        EncryptionConfiguration: wanted.EncryptionConfiguration,
        ProcessingConfiguration: wanted.ProcessingConfiguration,
        DynamicPartitioningConfiguration: wanted.DynamicPartitioningConfiguration,
      });
    },
  );

  it('delivers a PutRecordBatch of raw events into the bucket under the prefix, bytes intact, as one object', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: false });
    const records = Array.from({ length: 25 }, (_, i) => bytes(rawEvent(i)));
    const before = new Date();
    const put = await firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((Data) => ({ Data })) }),
    );
    const after = new Date();
    expect(put.FailedPutCount).toBe(0);
    expect(put.RequestResponses).toHaveLength(25);
    for (const r of put.RequestResponses!) expect(r.RecordId).toMatch(/^[0-9a-f-]{36}$/);

    const stored = await objects(bucket);
    expect(stored).toHaveLength(1);
    const [{ key, body }] = stored as [StoredObject];
    const hour = key.match(keyPattern(prefixes.arrivalTime, name))?.[1];
    expect(hour, key).toBeDefined();
    expect([hourFolder(before), hourFolder(after)]).toContain(hour);
    // The exact bytes, in order (see below: no delimiter, no compression).
    expect(body.equals(Buffer.concat(records))).toBe(true);
    expect(body.toString('utf8')).toContain('"ünïcödé":"✓"');
  });

  it('delivers each PutRecord as its own object (no buffering)', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: false });
    for (let i = 0; i < 3; i++) {
      const r = await firehose.send(
        new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(i)) } }),
      );
      expect(r.RecordId).toMatch(/^[0-9a-f-]{36}$/);
    }
    const stored = await objects(bucket, 'raw/');
    expect(stored).toHaveLength(3);
    const events = stored
      .map((o) => JSON.parse(o.body.toString('utf8')) as { event_id: string })
      .map((e) => e.event_id);
    expect(events.sort()).toEqual(['evt-0', 'evt-1', 'evt-2']);
  });
});

// ---- what moto does not emulate (pinned) ------------------------------------------------------

describe('firehose-s3 delivery (moto): what moto does not emulate', () => {
  it('dynamic partitioning: the JQ query is not run, !{partitionKeyFromQuery:…} stays literal', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: true });
    await firehose.send(
      new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(1, '2024-03-05T07:08:09Z')) } }),
    );
    const [object] = await objects(bucket);
    expect(object!.key).toMatch(keyPattern(prefixes.eventHour, name));
    // AWS would write raw/year=2024/month=03/day=05/hour=07/<stream>-…
    expect(object!.key).not.toContain('year=2024');
  });

  it('!{timestamp:…}: not expanded, and moto appends its own YYYY/MM/DD/HH/ after the prefix', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: false });
    await firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(1)) } }));
    const [object] = await objects(bucket);
    expect(
      object!.key.startsWith(
        'raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/',
      ),
    ).toBe(true);
    expect(object!.key).toMatch(/\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/[^/]+$/);
  });

  it('compression, the record delimiter and the delivery stream KMS key are not applied', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: true });
    const records = [bytes(rawEvent(1)), bytes(rawEvent(2))];
    await firehose.send(
      new PutRecordBatchCommand({ DeliveryStreamName: name, Records: records.map((Data) => ({ Data })) }),
    );
    const [object] = await objects(bucket);
    // GZIP would start with 1f 8b; AppendDelimiterToRecord would end each record with "\n".
    expect(object!.body.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    expect(object!.body.toString('utf8')).toBe(`${records[0]}${records[1]}`);
    expect(object!.object.ContentEncoding).toBeUndefined();
    expect(object!.object.ServerSideEncryption).toBeUndefined();
  });

  it('S3 bucket default encryption applies (S3 emulation), not the delivery stream key', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: false });
    const bucketKey = `arn:aws:kms:us-east-1:${ACCOUNT}:key/bucket-default`;
    await s3.send(
      new PutBucketEncryptionCommand({
        Bucket: bucket,
        ServerSideEncryptionConfiguration: {
          Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: bucketKey } }],
        },
      }),
    );
    await firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(1)) } }));
    const [object] = await objects(bucket);
    expect(object!.object.ServerSideEncryption).toBe('aws:kms');
    expect(object!.object.SSEKMSKeyId).toBe(bucketKey);
  });

  it('error output: an unpartitionable record lands under the normal prefix, nothing under errors/', async () => {
    const { name, bucket } = await deliveryStream({ dynamicPartitioning: true });
    // Not JSON: AWS would write it under errors/partitioning-failed/…
    await firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: Buffer.from('not json') } }));
    expect(await objects(bucket, 'errors/')).toEqual([]);
    const stored = await objects(bucket, 'raw/');
    expect(stored.map((o) => o.body.toString('utf8'))).toEqual(['not json']);
  });

  it('error output: a failed delivery (missing bucket) is an HTTP 500 to the producer', async () => {
    const { name } = await deliveryStream({ dynamicPartitioning: false, bucketExists: false });
    const once = new FirehoseClient({ ...moto.clientConfig(), maxAttempts: 1 });
    const failure = await once
      .send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(1)) } }))
      .then(
        () => undefined,
        (err: { $metadata?: { httpStatusCode?: number } }) => err,
      );
    expect(failure?.$metadata?.httpStatusCode).toBe(500);
    const described = (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
      .DeliveryStreamDescription!;
    expect(described.FailureDescription).toBeUndefined();
  });

  it('configuration validation: accepts what AWS refuses (dynamic partitioning with a 1 MB buffer)', async () => {
    counter += 1;
    const bucket = `acme-ue1-local-archive-raw-${counter}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const config = { ...destination(bucket, true), BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 0 } };
    const created = await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: `invalid-buffer-${counter}`,
        DeliveryStreamType: 'DirectPut',
        ExtendedS3DestinationConfiguration: config,
      }),
    );
    expect(created.DeliveryStreamARN).toMatch(/^arn:aws:firehose:us-east-1:\d{12}:deliverystream\/invalid-buffer-/);
  });

  it('Kinesis stream as source: records put into the stream never reach S3; direct puts are accepted', async () => {
    counter += 1;
    const stream = `acme-ue1-local-ingest-${counter}`;
    const bucket = `acme-ue1-local-archive-raw-${counter}`;
    const name = `acme-ue1-local-archive-${counter}`;
    await kinesis.send(new CreateStreamCommand({ StreamName: stream, StreamModeDetails: { StreamMode: 'ON_DEMAND' } }));
    const streamArn = (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream })))
      .StreamDescriptionSummary!.StreamARN!;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await firehose.send(
      new CreateDeliveryStreamCommand({
        DeliveryStreamName: name,
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: { KinesisStreamARN: streamArn, RoleARN: ROLE_ARN },
        ExtendedS3DestinationConfiguration: destination(bucket, false),
      }),
    );
    const described = (await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: name })))
      .DeliveryStreamDescription!;
    expect(described.DeliveryStreamType).toBe('KinesisStreamAsSource');
    expect(described.Source?.KinesisStreamSourceDescription?.KinesisStreamARN).toBe(streamArn);

    await kinesis.send(
      new PutKinesisRecordCommand({ StreamName: stream, PartitionKey: 'cust-1', Data: bytes(rawEvent(1)) }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await objects(bucket)).toEqual([]);

    // AWS: "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    await firehose.send(new PutRecordCommand({ DeliveryStreamName: name, Record: { Data: bytes(rawEvent(2)) } }));
    expect(await objects(bucket)).toHaveLength(1);
  });
});
