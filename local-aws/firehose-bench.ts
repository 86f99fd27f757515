/**
 * Measures the local OpenSearch node's start time and the local Firehose delivery's OpenSearch
 * throughput (documents/s from the source stream into the node, events template and ingest
 * pipelines installed), on this machine:
 *
 *   npx tsx local-aws/firehose-bench.ts [--events 20000] [--shards 4] [--size-mb 5]
 *
 * A moto server holds the source stream and the backup bucket; the delivery stream has the
 * firehose-opensearch component's settings (index events, OneDay, NO_DOCUMENT_ID,
 * FailedDocumentsOnly, GZIP backup), written out here because moto 5.2.5 cannot store an
 * OpenSearch destination. The events are put first, then `flush()` delivers them as fast as the
 * node takes them (buffers of --size-mb), so the figure is the delivery path's, not the pacing's.
 */
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { DeliveryStreamDescription } from '@aws-sdk/client-firehose';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  PutRecordsCommand,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DOCUMENT_ID_FORMAT, ERROR_PREFIX, FAILED_PREFIX, INDEX_NAME } from '../components/firehose-opensearch/index';
import { startMotoServer } from '../test/support/moto-server';
import { REPO_ROOT } from '../test/support/paths';
import { FirehoseDelivery } from './firehose-delivery';
import { openSearchClasspath, startOpenSearchNode } from './opensearch-node';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '20000' },
      shards: { type: 'string', default: '4' },
      'size-mb': { type: 'string', default: '5' },
    },
  });
  const events = Number(values.events);
  const shards = Number(values.shards);
  const sizeMb = Number(values['size-mb']);
  if (!(events >= 1)) throw new Error(`--events: a positive integer, got ${values.events}`);
  if (!(shards >= 1 && shards <= 16)) throw new Error(`--shards: 1-16, got ${values.shards}`);
  if (!(sizeMb >= 1 && sizeMb <= 100)) throw new Error(`--size-mb: 1-100, got ${values['size-mb']}`);

  const t0 = Date.now();
  openSearchClasspath((l) => console.log(l));
  const classpathMs = Date.now() - t0;
  const node = await startOpenSearchNode();
  const moto = await startMotoServer();
  try {
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
    const kinesis = new KinesisClient(moto.clientConfig());
    const s3 = new S3Client({ ...moto.clientConfig(), forcePathStyle: true });
    await kinesis.send(new CreateStreamCommand({ StreamName: 'bench-output', ShardCount: shards }));
    let arn = '';
    while (!arn) {
      const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'bench-output' }));
      if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') arn = s.StreamDescriptionSummary.StreamARN!;
      else await new Promise((r) => setTimeout(r, 50));
    }
    await s3.send(new CreateBucketCommand({ Bucket: 'bench-failed' }));
    const description: DeliveryStreamDescription = {
      DeliveryStreamName: 'bench-search-delivery',
      DeliveryStreamARN: 'arn:aws:firehose:us-east-1:123456789012:deliverystream/bench-search-delivery',
      DeliveryStreamStatus: 'ACTIVE',
      DeliveryStreamType: 'KinesisStreamAsSource',
      VersionId: '1',
      HasMoreDestinations: false,
      Source: { KinesisStreamSourceDescription: { KinesisStreamARN: arn } },
      Destinations: [
        {
          DestinationId: 'destinationId-000000000001',
          AmazonopensearchserviceDestinationDescription: {
            IndexName: INDEX_NAME,
            IndexRotationPeriod: 'OneDay',
            RetryOptions: { DurationInSeconds: 300 },
            BufferingHints: { SizeInMBs: sizeMb, IntervalInSeconds: 60 },
            S3BackupMode: 'FailedDocumentsOnly',
            DocumentIdOptions: { DefaultDocumentIdFormat: DOCUMENT_ID_FORMAT },
            S3DestinationDescription: {
              BucketARN: 'arn:aws:s3:::bench-failed',
              Prefix: FAILED_PREFIX,
              ErrorOutputPrefix: `${ERROR_PREFIX}!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`,
              CompressionFormat: 'GZIP',
              RoleARN: 'arn:aws:iam::123456789012:role/bench',
              BufferingHints: { SizeInMBs: 5, IntervalInSeconds: 300 },
              EncryptionConfiguration: { NoEncryptionConfig: 'NoEncryption' },
            },
          },
        },
      ],
    };
    const fh = new FirehoseDelivery({ description, kinesis, s3, opensearchEndpoint: node.endpoint });
    await fh.init();
    const now = Date.now();
    const records = Array.from({ length: events }, (_, i) =>
      JSON.stringify({
        record_type: 'event',
        event_id: `bench-${i}`,
        customer_id: `c${i % 100}`,
        event_type: 'page_view',
        timestamp: new Date(now - (i % 600) * 1000).toISOString(),
        payload: { page: `/p/${i % 37}`, ms: i % 1000 },
      }),
    );
    for (let i = 0; i < records.length; i += 500) {
      await kinesis.send(
        new PutRecordsCommand({
          StreamName: 'bench-output',
          Records: records.slice(i, i + 500).map((d, j) => ({ Data: Buffer.from(d), PartitionKey: `pk-${i + j}` })),
        }),
      );
    }
    const t1 = Date.now();
    await fh.flush();
    const deliverMs = Date.now() - t1;
    await fetch(`${node.endpoint}/events-*/_refresh`, { method: 'POST' });
    const count = (await (await fetch(`${node.endpoint}/events-*/_count?q=event_id:bench-*`)).json()) as {
      count: number;
    };
    await fh.stop();
    console.log(`classpath (cached after the first build): ${classpathMs} ms`);
    console.log(`opensearch node start (JVM spawn to health yellow/green): ${node.startMs} ms`);
    console.log(
      `firehose → opensearch: ${fh.stats.recordsDelivered} documents in ${deliverMs} ms = ${Math.round((fh.stats.recordsDelivered / deliverMs) * 1000)} docs/s ` +
        `(of which _bulk ${fh.stats.bulkMillis} ms = ${Math.round((fh.stats.recordsDelivered / fh.stats.bulkMillis) * 1000)} docs/s; the rest is GetRecords from moto; ` +
        `${fh.stats.bulkRequests} bulk requests of ≤ ${sizeMb} MiB, ${shards} shards, backups ${fh.stats.documentsToBackup}, searchable ${count.count})`,
    );
    if (count.count !== events || fh.stats.recordsDelivered !== events)
      throw new Error(
        `expected ${events} documents, searchable ${count.count}, delivered ${fh.stats.recordsDelivered}`,
      );
  } finally {
    await moto.stop();
    await node.stop();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
