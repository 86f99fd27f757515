/**
 * The local Firehose delivery on its own: the two delivery streams the components define
 * (components/firehose-s3, components/firehose-opensearch: their synthesized main.tf.json, turned
 * into the CreateDeliveryStream request Terraform's provider sends), created in a real moto server,
 * read back with DescribeDeliveryStream and delivered from a moto Kinesis stream into moto's S3 and
 * a real OpenSearch 2.19.6 node (local-aws/opensearch-node.ts) with the events template and ingest
 * pipelines installed by scripts/opensearch-setup.ts. Exact objects, keys, bulk bodies, multisets.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CreateDeliveryStreamCommand,
  DescribeDeliveryStreamCommand,
  FirehoseClient,
  type CreateDeliveryStreamCommandInput,
  type DeliveryStreamDescription,
} from '@aws-sdk/client-firehose';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PARTITION_QUERY } from '../../components/firehose-s3/index';
import { startKinesisMock, type KinesisMock } from '../../test/support/kinesis-mock';
import { archiveProcessing } from '../../test/support/firehose';
import { useMotoServer } from '../../test/support/moto';
import { REPO_ROOT } from '../../test/support/paths';
import type { TerraformJson } from '../../test/support/synth';
import { FirehoseDelivery, type FirehoseDeliveryOptions, type FirehoseEvent } from '../firehose-delivery';
import { startOpenSearchNode, type OpenSearchNode } from '../opensearch-node';

const moto = useMotoServer();
let kinesis: KinesisClient;
let s3: S3Client;
let firehose: FirehoseClient;
let n = 0;
const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/firehose-test`;

beforeAll(() => {
  kinesis = new KinesisClient({ ...moto.clientConfig(), maxAttempts: 3 });
  s3 = new S3Client({ ...moto.clientConfig(), forcePathStyle: true, maxAttempts: 3 });
  firehose = new FirehoseClient({ ...moto.clientConfig(), maxAttempts: 3 });
});

// ---------------------------------------------------------------------------------------------
// The component's delivery stream as CreateDeliveryStream input, from its synthesized main.tf.json.

type Tf = Record<string, unknown>;
function component(name: 'firehose-s3' | 'firehose-opensearch'): TerraformJson {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'components', name, 'main.tf.json'), 'utf8')) as TerraformJson;
}
function synthesized(name: 'firehose-s3' | 'firehose-opensearch'): Tf {
  return component(name).resource!.aws_kinesis_firehose_delivery_stream!.delivery!;
}

/** Resolves the Terraform expressions of the delivery resource: var.* from `vars`, every other reference from `refs` (unknown = error). */
function resolver(vars: Record<string, unknown>, refs: Record<string, string>) {
  const ref = (expr: string): unknown => {
    const cond = /^var\.([a-z_]+) \? "((?:[^"\\]|\\.)*)" : "((?:[^"\\]|\\.)*)"$/.exec(expr);
    if (cond) return vars[cond[1]!] ? cond[2] : cond[3];
    const v = /^var\.([a-z_]+)$/.exec(expr);
    if (v) {
      if (!(v[1]! in vars)) throw new Error(`test: no value for var.${v[1]}`);
      return vars[v[1]!];
    }
    if (!(expr in refs)) throw new Error(`test: no value for the reference ${expr}`);
    return refs[expr];
  };
  return (value: unknown): unknown => {
    if (typeof value !== 'string') return value;
    const whole = /^\$\{(.*)\}$/s.exec(value);
    if (whole && !whole[1]!.includes('${')) return ref(whole[1]!);
    return value.replace(/\$\{([^}]*)\}/g, (_m, e: string) => String(ref(e)));
  };
}

function s3Input(
  name: string,
  streamArn: string,
  bucket: string,
  vars: Record<string, unknown>,
): CreateDeliveryStreamCommandInput {
  const tf = synthesized('firehose-s3');
  const r = resolver(vars, {
    'local.archive_bucket_arn': `arn:aws:s3:::${bucket}`,
    'aws_iam_role.role.arn': ROLE,
    'local.source_stream_arn': streamArn,
  });
  const c = tf.extended_s3_configuration as Tf;
  const dyn = c.dynamic_partitioning_configuration as Tf;
  return {
    DeliveryStreamName: name,
    DeliveryStreamType: 'KinesisStreamAsSource',
    KinesisStreamSourceConfiguration: {
      KinesisStreamARN: r((tf.kinesis_source_configuration as Tf).kinesis_stream_arn) as string,
      RoleARN: ROLE,
    },
    ExtendedS3DestinationConfiguration: {
      RoleARN: r(c.role_arn) as string,
      BucketARN: r(c.bucket_arn) as string,
      Prefix: r(c.prefix) as string,
      ErrorOutputPrefix: r(c.error_output_prefix) as string,
      BufferingHints: { SizeInMBs: Number(r(c.buffering_size)), IntervalInSeconds: Number(r(c.buffering_interval)) },
      CompressionFormat: c.compression_format as 'GZIP',
      DynamicPartitioningConfiguration: {
        Enabled: r(dyn.enabled) as boolean,
        RetryOptions: { DurationInSeconds: Number(dyn.retry_duration) },
      },
      ProcessingConfiguration: archiveProcessing(
        component('firehose-s3'),
        vars.dynamic_partitioning_enabled as boolean,
      ),
    },
  };
}

function openSearchInput(
  name: string,
  streamArn: string,
  bucket: string,
  vars: Record<string, unknown>,
): CreateDeliveryStreamCommandInput {
  const tf = synthesized('firehose-opensearch');
  const r = resolver(vars, {
    'aws_s3_bucket.backup.arn': `arn:aws:s3:::${bucket}`,
    'aws_iam_role.role.arn': ROLE,
    'local.source_stream_arn': streamArn,
    'data.aws_partition.partition.partition': 'aws',
    'data.aws_caller_identity.caller.account_id': ACCOUNT,
  });
  const c = tf.opensearch_configuration as Tf;
  const b = c.s3_configuration as Tf;
  return {
    DeliveryStreamName: name,
    DeliveryStreamType: 'KinesisStreamAsSource',
    KinesisStreamSourceConfiguration: {
      KinesisStreamARN: r((tf.kinesis_source_configuration as Tf).kinesis_stream_arn) as string,
      RoleARN: ROLE,
    },
    AmazonopensearchserviceDestinationConfiguration: {
      RoleARN: r(c.role_arn) as string,
      DomainARN: r(c.domain_arn) as string,
      IndexName: c.index_name as string,
      IndexRotationPeriod: r(c.index_rotation_period) as 'OneDay',
      RetryOptions: { DurationInSeconds: Number(r(c.retry_duration)) },
      BufferingHints: { SizeInMBs: Number(r(c.buffering_size)), IntervalInSeconds: Number(r(c.buffering_interval)) },
      S3BackupMode: c.s3_backup_mode as 'FailedDocumentsOnly',
      DocumentIdOptions: {
        DefaultDocumentIdFormat: (c.document_id_options as Tf).default_document_id_format as 'NO_DOCUMENT_ID',
      },
      S3Configuration: {
        RoleARN: r(b.role_arn) as string,
        BucketARN: r(b.bucket_arn) as string,
        Prefix: b.prefix as string,
        ErrorOutputPrefix: b.error_output_prefix as string,
        CompressionFormat: b.compression_format as 'GZIP',
      },
    },
  };
}

/**
 * Creates the delivery stream in moto and returns what DescribeDeliveryStream holds.
 *
 * moto 5.2.5 refuses an AmazonopensearchserviceDestinationConfiguration ("Exactly one destination
 * configuration is supported"); until the patched moto is in tools/requirements-moto.txt, such an
 * input is turned into the description DescribeDeliveryStream documents for it (configuration
 * fields as they are, S3Configuration as S3DestinationDescription). Only that exact refusal takes
 * this path; any other error fails the test.
 */
async function describeCreated(input: CreateDeliveryStreamCommandInput): Promise<DeliveryStreamDescription> {
  try {
    await firehose.send(new CreateDeliveryStreamCommand(input));
  } catch (e) {
    const os = input.AmazonopensearchserviceDestinationConfiguration;
    if (!os || !/^Exactly one destination configuration is supported/.test((e as Error).message)) throw e;
    const { S3Configuration, ...rest } = os;
    return {
      DeliveryStreamName: input.DeliveryStreamName,
      DeliveryStreamARN: `arn:aws:firehose:us-east-1:${ACCOUNT}:deliverystream/${input.DeliveryStreamName}`,
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: input.DeliveryStreamType,
      VersionId: '1',
      HasMoreDestinations: false,
      Source: {
        KinesisStreamSourceDescription: {
          KinesisStreamARN: input.KinesisStreamSourceConfiguration!.KinesisStreamARN,
          RoleARN: input.KinesisStreamSourceConfiguration!.RoleARN,
        },
      },
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          AmazonopensearchserviceDestinationDescription: {
            ...rest,
            // the description's required members get the defaults AWS reports (buffering 5 MiB / 300 s, no encryption configured here)
            S3DestinationDescription: S3Configuration && {
              ...S3Configuration,
              BufferingHints: S3Configuration.BufferingHints ?? { SizeInMBs: 5, IntervalInSeconds: 300 },
              CompressionFormat: S3Configuration.CompressionFormat ?? 'UNCOMPRESSED',
              EncryptionConfiguration: S3Configuration.EncryptionConfiguration ?? {
                NoEncryptionConfig: 'NoEncryption',
              },
            },
          },
        },
      ],
    };
  }
  const d = await firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: input.DeliveryStreamName }));
  return d.DeliveryStreamDescription!;
}

// ---------------------------------------------------------------------------------------------

async function stream(shards = 1): Promise<{ name: string; arn: string }> {
  const name = `fh-src-${process.pid}-${++n}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (;;) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE')
      return { name, arn: s.StreamDescriptionSummary.StreamARN! };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bucket(): Promise<string> {
  const name = `fh-dest-${process.pid}-${++n}`;
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

/** Puts the records (strings), each with its own partition key; returns their arrival times (ms) from GetRecords' view (ApproximateArrivalTimestamp). */
async function put(streamName: string, records: Array<string | Buffer>): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const res = await kinesis.send(
      new PutRecordsCommand({
        StreamName: streamName,
        Records: records.slice(i, i + 500).map((d, j) => ({ Data: Buffer.from(d), PartitionKey: `pk-${i + j}` })),
      }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
  }
}

async function objects(b: string): Promise<Array<{ key: string; body: Buffer }>> {
  const out: Array<{ key: string; body: Buffer }> = [];
  let token: string | undefined;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket: b, ContinuationToken: token }));
    for (const o of res.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: b, Key: o.Key! }));
      out.push({ key: o.Key!, body: Buffer.from(await got.Body!.transformToByteArray()) });
    }
    token = res.NextContinuationToken;
  } while (token);
  return out.sort((a, c) => a.key.localeCompare(c.key));
}

const sorted = <T>(xs: T[]) => [...xs].sort();
const utcHourPath = (ms: number, hour = true) => {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return (
    `year=${d.getUTCFullYear()}/month=${p(d.getUTCMonth() + 1)}/day=${p(d.getUTCDate())}/` +
    (hour ? `hour=${p(d.getUTCHours())}/` : '')
  );
};
/** <name>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>.gz */
const objectName = (name: string) =>
  new RegExp(
    `^${name}-1-\\d{4}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-\\d{2}-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\\.gz$`,
  );

function delivery(description: DeliveryStreamDescription, extra: Partial<FirehoseDeliveryOptions> = {}) {
  const events: FirehoseEvent[] = [];
  const fh = new FirehoseDelivery({ description, kinesis, s3, onEvent: (e) => events.push(e), ...extra });
  return { fh, events };
}

const event = (id: string, timestamp: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ record_type: 'event', event_id: id, customer_id: 'c1', event_type: 'click', timestamp, ...extra });

describe('local Firehose delivery: S3 (firehose-s3 component, moto)', () => {
  it('the component query is the one implemented', () => {
    expect(PARTITION_QUERY).toBe(
      '{year: .timestamp[0:4], month: .timestamp[5:7], day: .timestamp[8:10], hour: .timestamp[11:13]}',
    );
  });

  it('dynamic partitioning: one GZIP object per event hour, newline-delimited, Firehose object names; failures to errors/partitioning-failed/', async () => {
    const src = await stream(2);
    const b = await bucket();
    const name = `archive-${++n}`;
    const description = await describeCreated(
      s3Input(name, src.arn, b, {
        dynamic_partitioning_enabled: true,
        buffering_size_mb: 64,
        buffering_interval_seconds: 300,
      }),
    );
    const { fh, events } = delivery(description);
    await fh.init();
    const h10 = ['e1', 'e2', 'e3'].map((id, i) => event(id, `2026-11-30T10:0${i}:00Z`));
    const h23 = ['e4', 'e5'].map((id, i) => event(id, `2026-11-30T23:5${i}:59.123Z`));
    const bad = [
      'not json {',
      JSON.stringify({ record_type: 'event', event_id: 'e6' }),
      JSON.stringify({ timestamp: 20261130 }),
      JSON.stringify({ timestamp: '' }),
    ];
    const before = Date.now();
    await put(src.name, [...h10, ...bad.slice(0, 2), ...h23, ...bad.slice(2)]);
    await fh.flush();
    const after = Date.now();
    const objs = await objects(b);
    const raw = objs.filter((o) => o.key.startsWith('raw/'));
    expect(raw.map((o) => o.key.slice(0, o.key.lastIndexOf('/') + 1))).toEqual([
      'raw/year=2026/month=11/day=30/hour=10/',
      'raw/year=2026/month=11/day=30/hour=23/',
    ]);
    for (const o of objs) expect(o.key.slice(o.key.lastIndexOf('/') + 1)).toMatch(objectName(name));
    // records of both shards in one object per partition; each record + "\n" (AppendDelimiterToRecord)
    expect(sorted(gunzipSync(raw[0]!.body).toString().split('\n'))).toEqual(sorted([...h10, '']));
    expect(gunzipSync(raw[0]!.body).toString().endsWith('\n')).toBe(true);
    expect(sorted(gunzipSync(raw[1]!.body).toString().split('\n'))).toEqual(sorted([...h23, '']));
    // the failures: one error object, prefix from the arrival time (the oldest record's)
    const errs = objs.filter((o) => o.key.startsWith('errors/'));
    expect(errs).toHaveLength(1);
    const errPrefix = errs[0]!.key.slice(0, errs[0]!.key.lastIndexOf('/') + 1);
    expect([utcHourPath(before), utcHourPath(after)].map((p) => `errors/partitioning-failed/${p}`)).toContain(
      errPrefix,
    );
    const docs = gunzipSync(errs[0]!.body)
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(sorted(docs.map((d) => Buffer.from(d.rawData as string, 'base64').toString()))).toEqual(sorted(bad));
    for (const d of docs) {
      expect(Object.keys(d)).toEqual([
        'attemptsMade',
        'arrivalTimestamp',
        'errorCode',
        'errorMessage',
        'attemptEndingTimestamp',
        'rawData',
      ]);
      expect(d.errorCode).toBe('DynamicPartitioning.MetadataExtractionFailed');
      expect(d.arrivalTimestamp).toBeGreaterThanOrEqual(before - 2000);
      expect(d.arrivalTimestamp).toBeLessThanOrEqual(after + 2000);
    }
    const msg = Object.fromEntries(
      docs.map((d) => [Buffer.from(d.rawData as string, 'base64').toString(), d.errorMessage]),
    );
    expect(msg['not json {']).toMatch(/^Non JSON record provided/);
    expect(msg[bad[1]!]).toBe(`partition key "year" evaluated to null (query ${PARTITION_QUERY})`);
    expect(msg[bad[2]!]).toBe('Cannot index number with object');
    expect(msg[bad[3]!]).toBe(`partition key "year" evaluated to an empty string (query ${PARTITION_QUERY})`);
    expect(fh.stats).toMatchObject({
      recordsIn: 9,
      recordsDelivered: 5,
      s3Objects: 2,
      errorObjects: 1,
      processingFailures: 4,
    });
    expect(events.filter((e) => e.type === 's3-object')).toHaveLength(3);
    await fh.stop();
  });

  it('without dynamic partitioning: arrival-hour prefix, every record still newline-delimited', async () => {
    const src = await stream();
    const b = await bucket();
    const name = `archive-${++n}`;
    const description = await describeCreated(
      s3Input(name, src.arn, b, {
        dynamic_partitioning_enabled: false,
        buffering_size_mb: 1,
        buffering_interval_seconds: 300,
      }),
    );
    expect(description.Destinations![0]!.ExtendedS3DestinationDescription!.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [
        { Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] },
      ],
    });
    const { fh } = delivery(description);
    await fh.init();
    const recs = ['{"a":1}', '{"a":2}', '{"a":3}'];
    const before = Date.now();
    await put(src.name, recs);
    await fh.flush();
    const after = Date.now();
    const objs = await objects(b);
    expect(objs).toHaveLength(1);
    expect([utcHourPath(before), utcHourPath(after)].map((p) => `raw/${p}`)).toContain(
      objs[0]!.key.slice(0, objs[0]!.key.lastIndexOf('/') + 1),
    );
    expect(gunzipSync(objs[0]!.body).toString()).toBe(recs.map((r) => `${r}\n`).join(''));
  });

  it('LATEST: records put before init() are not delivered', async () => {
    const src = await stream();
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, src.arn, b, {
        dynamic_partitioning_enabled: true,
        buffering_size_mb: 64,
        buffering_interval_seconds: 300,
      }),
    );
    await put(src.name, [event('old', '2026-11-30T10:00:00Z')]);
    const { fh } = delivery(description);
    await fh.init();
    await put(src.name, [event('new', '2026-11-30T10:00:00Z')]);
    await fh.flush();
    const objs = await objects(b);
    expect(objs.map((o) => gunzipSync(o.body).toString())).toEqual([`${event('new', '2026-11-30T10:00:00Z')}\n`]);
  });

  it('DeliveryStartTimestamp in the description: reading starts AT_TIMESTAMP of it', async () => {
    const src = await stream();
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, src.arn, b, {
        dynamic_partitioning_enabled: false,
        buffering_size_mb: 1,
        buffering_interval_seconds: 300,
      }),
    );
    await put(src.name, ['old;']);
    await new Promise((r) => setTimeout(r, 1500));
    const start = new Date();
    await new Promise((r) => setTimeout(r, 500));
    await put(src.name, ['new;']);
    const withStart: DeliveryStreamDescription = {
      ...description,
      Source: {
        KinesisStreamSourceDescription: {
          ...description.Source!.KinesisStreamSourceDescription!,
          DeliveryStartTimestamp: start,
        },
      },
    };
    const { fh } = delivery(withStart);
    await fh.init();
    await fh.flush();
    expect((await objects(b)).map((o) => gunzipSync(o.body).toString())).toEqual(['new;\n']);
  });

  it('buffering size: an object is written when the next record would pass SizeInMBs; the rest waits for the interval (or flush)', async () => {
    const src = await stream();
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, src.arn, b, {
        dynamic_partitioning_enabled: false,
        buffering_size_mb: 1,
        buffering_interval_seconds: 900,
      }),
    );
    const { fh } = delivery(description, { pollIntervalMs: 200 });
    await fh.init();
    const big = (c: string) => c.repeat(400 * 1024);
    await put(src.name, [big('a'), big('b'), big('c')]);
    fh.start();
    const deadline = Date.now() + 15_000;
    while ((await objects(b)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 1000));
    let objs = await objects(b);
    const line = (c: string) => `${big(c)}\n`;
    expect(objs.map((o) => gunzipSync(o.body).toString())).toEqual([line('a') + line('b')]);
    expect(fh.buffered).toBe(1);
    await fh.flush();
    objs = await objects(b);
    expect(sorted(objs.map((o) => gunzipSync(o.body).toString()))).toEqual([line('a') + line('b'), line('c')]);
    await fh.stop();
  });

  it('buffering interval: a buffer is delivered IntervalInSeconds after its first record, not before', async () => {
    const src = await stream();
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, src.arn, b, {
        dynamic_partitioning_enabled: false,
        buffering_size_mb: 64,
        buffering_interval_seconds: 3,
      }),
    );
    const times: number[] = [];
    const { fh } = delivery(description, { onEvent: (e) => e.type === 's3-object' && times.push(Date.now()) });
    await fh.init();
    fh.start();
    await put(src.name, ['x']);
    const put1 = Date.now();
    await new Promise((r) => setTimeout(r, 2500));
    expect(times).toEqual([]);
    const deadline = Date.now() + 8000;
    while (times.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await fh.stop();
    expect(times).toHaveLength(1);
    // first read within ~1 s of the put, then 3 s of buffering
    expect(times[0]! - put1).toBeGreaterThanOrEqual(3000);
    expect(times[0]! - put1).toBeLessThan(6000); // ≤ 1 s to the next poll + 3 s + the delivery timer and PutObject
    expect((await objects(b)).map((o) => gunzipSync(o.body).toString())).toEqual(['x\n']);
  });

  it('reads each shard once per second (GetRecords per shard)', async () => {
    const src = await stream(2);
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, src.arn, b, {
        dynamic_partitioning_enabled: false,
        buffering_size_mb: 64,
        buffering_interval_seconds: 300,
      }),
    );
    const counted = new KinesisClient({ ...moto.clientConfig(), maxAttempts: 3 });
    const calls: string[] = [];
    counted.middlewareStack.add(
      (next, ctx) => async (args) => {
        if (ctx.commandName === 'GetRecordsCommand') calls.push(String(Date.now()));
        return next(args);
      },
      { step: 'initialize' },
    );
    const fh = new FirehoseDelivery({ description, kinesis: counted, s3 });
    await fh.init();
    fh.start();
    await new Promise((r) => setTimeout(r, 3500));
    await fh.stop();
    // 2 shards, each read at start and then once per second: at most 4 rounds in 3.5 s, at least
    // 2 even on a loaded machine, and never a third call (a shard read twice) within 950 ms
    const t = calls.map(Number).sort((a, b) => a - b);
    expect(t.length).toBeGreaterThanOrEqual(4);
    expect(t.length).toBeLessThanOrEqual(8);
    for (let i = 0; i + 2 < t.length; i++) expect(t[i + 2]! - t[i]!).toBeGreaterThanOrEqual(950);
  });

  it('bad configuration: an unimplemented processor or JQ names itself', async () => {
    const src = await stream();
    const b = await bucket();
    const input = s3Input(`archive-${++n}`, src.arn, b, {
      dynamic_partitioning_enabled: true,
      buffering_size_mb: 64,
      buffering_interval_seconds: 300,
    });
    const description = await describeCreated(input);
    const dest = description.Destinations![0]!.ExtendedS3DestinationDescription!;
    const withQuery = (q: string): DeliveryStreamDescription => ({
      ...description,
      Destinations: [
        {
          ...description.Destinations![0]!,
          ExtendedS3DestinationDescription: {
            ...dest,
            ProcessingConfiguration: {
              Enabled: true,
              Processors: [
                {
                  Type: 'MetadataExtraction',
                  Parameters: [{ ParameterName: 'MetadataExtractionQuery', ParameterValue: q }],
                },
              ],
            },
          },
        },
      ],
    });
    expect(
      () => new FirehoseDelivery({ description: withQuery('{year: .timestamp | strftime("%Y")}'), kinesis, s3 }),
    ).toThrow('firehose-delivery: not implemented: JQ expression "{year: .timestamp | strftime("%Y")}"');
    expect(() => new FirehoseDelivery({ description: withQuery('{yr: .timestamp[0:4]}'), kinesis, s3 })).toThrow(
      'Prefix: !{partitionKeyFromQuery:year} is not a key of the MetadataExtractionQuery {yr: .timestamp[0:4]}',
    );
    const lambda: DeliveryStreamDescription = {
      ...description,
      Destinations: [
        {
          ...description.Destinations![0]!,
          ExtendedS3DestinationDescription: {
            ...dest,
            ProcessingConfiguration: { Enabled: true, Processors: [{ Type: 'Lambda', Parameters: [] }] },
          },
        },
      ],
    };
    expect(() => new FirehoseDelivery({ description: lambda, kinesis, s3 })).toThrow(
      'not implemented: ExtendedS3DestinationDescription.ProcessingConfiguration: processor type Lambda',
    );
  });
});

describe('local Firehose delivery: the other Kinesis emulator (kinesis-mock) as source', () => {
  let mock: KinesisMock | undefined;
  let km: KinesisClient;
  beforeAll(async () => {
    mock = await startKinesisMock();
    km = mock.client;
  }, 90_000);
  afterAll(() => {
    mock?.stop();
  });

  it('reads both shards from LATEST and archives by event hour', async () => {
    const name = `fh-km-${++n}`;
    await km.send(new CreateStreamCommand({ StreamName: name, ShardCount: 2 }));
    let arn = '';
    while (!arn) {
      const st = await km.send(new DescribeStreamSummaryCommand({ StreamName: name }));
      if (st.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') arn = st.StreamDescriptionSummary.StreamARN!;
      else await new Promise((r) => setTimeout(r, 50));
    }
    const b = await bucket();
    const description = await describeCreated(
      s3Input(`archive-${++n}`, arn, b, {
        dynamic_partitioning_enabled: true,
        buffering_size_mb: 64,
        buffering_interval_seconds: 300,
      }),
    );
    await km.send(
      new PutRecordsCommand({
        StreamName: name,
        Records: [{ Data: Buffer.from(event('before', '2026-11-30T08:00:00Z')), PartitionKey: 'a' }],
      }),
    );
    const fh = new FirehoseDelivery({ description, kinesis: km, s3 });
    await fh.init();
    const recs = Array.from({ length: 20 }, (_, i) => event(`km${i}`, `2026-11-30T0${8 + (i % 2)}:00:00Z`));
    await km.send(
      new PutRecordsCommand({
        StreamName: name,
        Records: recs.map((d, i) => ({ Data: Buffer.from(d), PartitionKey: `pk-${i}` })),
      }),
    );
    await fh.flush();
    const objs = await objects(b);
    expect(objs.map((o) => o.key.slice(0, o.key.lastIndexOf('/') + 1))).toEqual([
      'raw/year=2026/month=11/day=30/hour=08/',
      'raw/year=2026/month=11/day=30/hour=09/',
    ]);
    expect(sorted(objs.flatMap((o) => gunzipSync(o.body).toString().split('\n').filter(Boolean)))).toEqual(
      sorted(recs),
    );
  });
});

// ---------------------------------------------------------------------------------------------

/** A proxy in front of the node that records every request and can answer 429 instead. */
class RecordingProxy {
  readonly requests: Array<{ method: string; url: string; body: string; status: number }> = [];
  /** While > 0: answer 429 (and count down). Infinity: always. */
  reject429 = 0;
  private server?: Server;
  endpoint = '';
  constructor(private readonly target: string) {}
  async start(): Promise<void> {
    this.server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const body = Buffer.concat(chunks).toString();
        if (this.reject429 > 0) {
          this.reject429--;
          this.requests.push({ method: req.method!, url: req.url!, body, status: 429 });
          res.writeHead(429, { 'content-type': 'application/json' });
          res.end(
            '{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution (test)"},"status":429}',
          );
          return;
        }
        const upstream = await fetch(this.target + req.url!, {
          method: req.method,
          headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
          body: req.method === 'GET' ? undefined : body,
        });
        const text = await upstream.text();
        this.requests.push({ method: req.method!, url: req.url!, body, status: upstream.status });
        res.writeHead(upstream.status, { 'content-type': 'application/json' });
        res.end(text);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const a = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }
  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

describe('local Firehose delivery: OpenSearch (firehose-opensearch component, moto + a real OpenSearch node)', () => {
  let node: OpenSearchNode;
  let proxy: RecordingProxy;
  beforeAll(async () => {
    node = await startOpenSearchNode();
    const setup = spawnSync(
      'npx',
      [
        '--no-install',
        'tsx',
        'scripts/opensearch-setup.ts',
        '--endpoint',
        node.endpoint,
        '--no-sign',
        '--skip-security',
      ],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    if (setup.status !== 0) throw new Error(`opensearch-setup failed:\n${setup.stdout}${setup.stderr}`);
    proxy = new RecordingProxy(node.endpoint);
    await proxy.start();
  }, 240_000);
  afterAll(async () => {
    await proxy?.stop();
    await node?.stop();
  });

  const os = async (path: string, init?: RequestInit) =>
    (await (await fetch(node.endpoint + path, init)).json()) as Record<string, unknown>;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

  async function setup(vars: Partial<Record<string, unknown>> = {}) {
    const src = await stream();
    const b = await bucket();
    const name = `search-${++n}`;
    const description = await describeCreated(
      openSearchInput(name, src.arn, b, {
        domain_name: 'search',
        region: 'us-east-1',
        index_rotation_period: 'OneDay',
        retry_duration_seconds: 300,
        buffering_size_mb: 5,
        buffering_interval_seconds: 60,
        ...vars,
      }),
    );
    return { src, b, name, description };
  }

  /** Unique event ids per test, so documents of different tests never meet. */
  const ids = (prefix: string, k: number) => Array.from({ length: k }, (_, i) => `${prefix}-${process.pid}-${n}-${i}`);

  it("moto holds the component's OpenSearch configuration", async () => {
    const { description, b } = await setup();
    const d = description.Destinations![0]!.AmazonopensearchserviceDestinationDescription!;
    expect(d).toMatchObject({
      IndexName: 'events',
      IndexRotationPeriod: 'OneDay',
      S3BackupMode: 'FailedDocumentsOnly',
      RetryOptions: { DurationInSeconds: 300 },
      DocumentIdOptions: { DefaultDocumentIdFormat: 'NO_DOCUMENT_ID' },
      S3DestinationDescription: { BucketARN: `arn:aws:s3:::${b}`, Prefix: 'failed/', CompressionFormat: 'GZIP' },
    });
  });

  it('one _bulk of index actions into events-<arrival day> without _id (NO_DOCUMENT_ID); the pipeline files each by event_id and its own day', async () => {
    const { src, description } = await setup();
    proxy.requests.length = 0;
    const { fh } = delivery(description, { opensearchEndpoint: proxy.endpoint });
    await fh.init();
    const evIds = ids('nid', 4);
    const recs = evIds.map((id, i) => event(id, `2026-11-2${i}T12:00:00Z`));
    const before = Date.now();
    await put(src.name, recs);
    await fh.flush();
    const after = Date.now();
    const bulks = proxy.requests.filter((r) => r.url === '/_bulk');
    expect(bulks).toHaveLength(1);
    expect(bulks[0]!.method).toBe('POST');
    const lines = bulks[0]!.body.split('\n');
    expect(lines.at(-1)).toBe('');
    const index = lines[0]!;
    expect([day(before), day(after)].map((d) => JSON.stringify({ index: { _index: `events-${d}` } }))).toContain(index);
    expect(lines).toEqual([...recs.flatMap((r) => [index, r]), '']);
    await os('/events-*/_refresh', { method: 'POST' });
    const hits = (await os(`/events-*/_search?size=100&q=event_id:nid-${process.pid}-${n}-*`)) as {
      hits: { hits: Array<{ _id: string; _index: string }> };
    };
    expect(sorted(hits.hits.hits.map((h) => `${h._index}/${h._id}`))).toEqual(
      sorted(evIds.map((id, i) => `events-2026-11-2${i}/${id}`)),
    );
    expect(fh.stats).toMatchObject({
      recordsIn: 4,
      recordsDelivered: 4,
      bulkRequests: 1,
      retriedRequests: 0,
      documentsToBackup: 0,
    });
  });

  it('FIREHOSE_DEFAULT: every action carries a Firehose _id (the pipeline still sets its own)', async () => {
    const { src, description } = await setup();
    const d = description.Destinations![0]!;
    const fhDefault: DeliveryStreamDescription = {
      ...description,
      Destinations: [
        {
          ...d,
          AmazonopensearchserviceDestinationDescription: {
            ...d.AmazonopensearchserviceDestinationDescription!,
            DocumentIdOptions: { DefaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
          },
        },
      ],
    };
    proxy.requests.length = 0;
    const { fh } = delivery(fhDefault, { opensearchEndpoint: proxy.endpoint });
    await fh.init();
    const evIds = ids('fid', 2);
    await put(
      src.name,
      evIds.map((id) => event(id, '2026-11-25T00:00:00Z')),
    );
    await fh.flush();
    const lines = proxy.requests.filter((r) => r.url === '/_bulk')[0]!.body.split('\n');
    const actions = [lines[0]!, lines[2]!].map((l) => JSON.parse(l) as { index: { _index: string; _id: string } });
    for (const a of actions) {
      expect(Object.keys(a.index)).toEqual(['_index', '_id']);
      expect(a.index._id).toMatch(/^\d+\.0$/);
    }
    expect(new Set(actions.map((a) => a.index._id)).size).toBe(2);
    await os('/events-*/_refresh', { method: 'POST' });
    const hits = (await os(`/events-2026-11-25/_search?q=event_id:fid-${process.pid}-${n}-*`)) as {
      hits: { hits: Array<{ _id: string }> };
    };
    expect(sorted(hits.hits.hits.map((h) => h._id))).toEqual(sorted(evIds));
  });

  it('429 for a while: the request is retried with backoff until it succeeds, every document once, nothing backed up', async () => {
    const { src, b, description } = await setup({ retry_duration_seconds: 60 });
    proxy.requests.length = 0;
    proxy.reject429 = 3;
    const { fh, events } = delivery(description, {
      opensearchEndpoint: proxy.endpoint,
      retryBackoffMs: { initial: 100, max: 400 },
    });
    await fh.init();
    const evIds = ids('r429', 5);
    await put(
      src.name,
      evIds.map((id) => event(id, '2026-11-26T00:00:00Z')),
    );
    await fh.flush();
    const bulks = proxy.requests.filter((r) => r.url === '/_bulk');
    expect(bulks.map((r) => r.status)).toEqual([429, 429, 429, 200]);
    expect(new Set(bulks.map((r) => r.body)).size).toBe(1); // the same request each time
    expect(events.filter((e) => e.type === 'bulk').map((e) => (e as { status: unknown }).status)).toEqual([
      429, 429, 429, 200,
    ]);
    expect(fh.stats).toMatchObject({
      recordsDelivered: 5,
      bulkRequests: 4,
      retriedRequests: 3,
      documentsRetried: 15,
      documentsToBackup: 0,
      backupObjects: 0,
    });
    expect(await objects(b)).toEqual([]);
    await os('/events-*/_refresh', { method: 'POST' });
    const hits = (await os(`/events-2026-11-26/_search?q=event_id:r429-${process.pid}-${n}-*`)) as {
      hits: { hits: Array<{ _id: string }> };
    };
    expect(sorted(hits.hits.hits.map((h) => h._id))).toEqual(sorted(evIds));
  });

  it('429 past the retry duration: the documents go to the backup bucket, errors/AmazonOpenSearchService-failed/…, in the failed-document shape, GZIP', async () => {
    const { src, b, name, description } = await setup({ retry_duration_seconds: 2 });
    proxy.requests.length = 0;
    proxy.reject429 = Infinity;
    const { fh } = delivery(description, {
      opensearchEndpoint: proxy.endpoint,
      retryBackoffMs: { initial: 200, max: 500 },
    });
    await fh.init();
    const evIds = ids('b429', 3);
    const recs = evIds.map((id) => event(id, '2026-11-27T00:00:00Z'));
    const before = Date.now();
    await put(src.name, recs);
    const t0 = Date.now();
    await fh.flush();
    const took = Date.now() - t0;
    proxy.reject429 = 0;
    const after = Date.now();
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(6000);
    const bulks = proxy.requests.filter((r) => r.url === '/_bulk');
    expect(bulks.length).toBeGreaterThanOrEqual(3);
    expect(bulks.every((r) => r.status === 429)).toBe(true);
    const objs = await objects(b);
    expect(objs).toHaveLength(1);
    const key = objs[0]!.key;
    expect(
      [utcHourPath(before, false), utcHourPath(after, false)].map((p) => `errors/AmazonOpenSearchService-failed/${p}`),
    ).toContain(key.slice(0, key.lastIndexOf('/') + 1));
    expect(key.slice(key.lastIndexOf('/') + 1)).toMatch(objectName(name));
    const docs = gunzipSync(objs[0]!.body)
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(sorted(docs.map((d) => Buffer.from(d.rawData as string, 'base64').toString()))).toEqual(sorted(recs));
    for (const d of docs) {
      expect(Object.keys(d)).toEqual([
        'attemptsMade',
        'arrivalTimestamp',
        'errorCode',
        'errorMessage',
        'attemptEndingTimestamp',
        'esDocumentId',
        'esIndexName',
        'esTypeName',
        'rawData',
      ]);
      expect(d).toMatchObject({ attemptsMade: bulks.length, errorCode: '429', esDocumentId: null, esTypeName: '' });
      expect(d.errorMessage).toContain('es_rejected_execution_exception');
      expect([day(before), day(after)].map((x) => `events-${x}`)).toContain(d.esIndexName);
      expect(d.attemptEndingTimestamp as number).toBeGreaterThanOrEqual((d.arrivalTimestamp as number) + 2000);
    }
    expect(fh.stats).toMatchObject({
      recordsDelivered: 0,
      documentsToBackup: 3,
      backupObjects: 1,
      retriedRequests: bulks.length - 1,
    });
  });

  it("a document the pipeline refuses is retried alone for the retry duration, then backed up with OpenSearch's reason; the others are indexed once", async () => {
    const { src, b, description } = await setup({ retry_duration_seconds: 5 });
    proxy.requests.length = 0;
    const { fh } = delivery(description, {
      opensearchEndpoint: proxy.endpoint,
      retryBackoffMs: { initial: 300, max: 600 },
    });
    await fh.init();
    const evIds = ids('item', 2);
    const refused = JSON.stringify({
      record_type: 'event',
      customer_id: 'c1',
      timestamp: '2026-11-28T00:00:00Z',
      note: `no-id-${n}`,
    });
    const recs = [event(evIds[0]!, '2026-11-28T00:00:00Z'), refused, event(evIds[1]!, '2026-11-28T00:00:00Z')];
    await put(src.name, recs);
    await fh.flush();
    const bulks = proxy.requests.filter((r) => r.url === '/_bulk');
    expect(bulks.length).toBeGreaterThanOrEqual(3);
    expect(bulks[0]!.body.split('\n').filter((_, i) => i % 2 === 1)).toEqual(recs);
    for (const r of bulks.slice(1)) expect(r.body.split('\n').filter((_, i) => i % 2 === 1)).toEqual([refused]);
    const objs = await objects(b);
    expect(objs).toHaveLength(1);
    const docs = gunzipSync(objs[0]!.body)
      .toString()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs).toHaveLength(1);
    expect(Buffer.from(docs[0]!.rawData as string, 'base64').toString()).toBe(refused);
    // OpenSearch answers a pipeline `fail` processor with 500 (fail_processor_exception), per item
    expect(docs[0]!.errorCode).toBe('500');
    expect(docs[0]!.errorMessage).toContain('events-idempotent: a record_type event record needs event_id');
    expect(docs[0]!.attemptsMade).toBe(bulks.length);
    expect(fh.stats).toMatchObject({
      recordsDelivered: 2,
      documentsToBackup: 1,
      documentsRetried: bulks.length - 1,
      retriedRequests: bulks.length - 1,
    });
    await os('/events-*/_refresh', { method: 'POST' });
    const hits = (await os(`/events-2026-11-28/_search?q=event_id:item-${process.pid}-${n}-*`)) as {
      hits: { hits: Array<{ _id: string }> };
    };
    expect(sorted(hits.hits.hits.map((h) => h._id))).toEqual(sorted(evIds));
  });
});
