// The fault proxy of pipeline-local (scripts/pipeline-local/fault-proxy.ts) between real SDK
// clients and a real moto server: routing by X-Amz-Target, pass-through unchanged (signatures
// stay valid), and each fault as the SDK sees it.
import { CreateStreamCommand, KinesisClient, ListStreamsCommand, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, ListQueuesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy, KINESIS_THROTTLED, OPENSEARCH_429 } from '../../scripts/pipeline-local/fault-proxy';
import { useMotoServer } from '../support/moto';

describe('fault proxy', () => {
  const moto = useMotoServer();
  let other: Server;
  let otherHits = 0;
  let proxy: FaultProxy;

  beforeAll(async () => {
    // A second upstream that records what reaches it (the Kinesis route's target in this test).
    other = createServer((req, res) => {
      otherHits++;
      req.resume();
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ StreamNames: ['from-second-upstream'], HasMoreStreams: false }));
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    proxy = new FaultProxy(moto.endpoint, [
      {
        targetPrefix: 'Kinesis_20131202.ListStreams',
        upstream: `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
      },
    ]);
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.stop();
    await new Promise((r) => other.close(r));
  });

  const viaProxy = () => ({ ...moto.clientConfig(), endpoint: proxy.endpoint, maxAttempts: 1 });

  it('passes requests through to the default upstream and routes by X-Amz-Target', async () => {
    const kinesis = new KinesisClient(viaProxy());
    await kinesis.send(new CreateStreamCommand({ StreamName: 'fp-stream', ShardCount: 1 }));
    const put = await kinesis.send(
      new PutRecordCommand({ StreamName: 'fp-stream', PartitionKey: 'k', Data: Buffer.from('x') }),
    );
    expect(put.SequenceNumber).toMatch(/^\d+$/);
    expect((await kinesis.send(new ListStreamsCommand({}))).StreamNames).toEqual(['from-second-upstream']);
    expect(otherHits).toBe(1);
    expect(proxy.passed.get('Kinesis_20131202.PutRecord')).toBe(1);
  });

  it('answers matching requests with the fault for its count, every n-th, then passes again', async () => {
    const kinesis = new KinesisClient(viaProxy());
    proxy.add({
      name: 'throttle',
      target: 'Kinesis_20131202.PutRecord',
      every: 2,
      count: 2,
      action: KINESIS_THROTTLED,
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      try {
        await kinesis.send(
          new PutRecordCommand({ StreamName: 'fp-stream', PartitionKey: 'k', Data: Buffer.from(String(i)) }),
        );
        outcomes.push('ok');
      } catch (e) {
        outcomes.push((e as Error).name);
      }
    }
    // requests 1 and 3 are faulted (every 2nd matching, starting with the first), then the count is used up
    expect(outcomes).toEqual([
      'ProvisionedThroughputExceededException',
      'ok',
      'ProvisionedThroughputExceededException',
      'ok',
      'ok',
      'ok',
    ]);
    expect(proxy.injected.get('throttle')).toBe(2);
    proxy.clear();
  });

  it('resets connections while a time-bounded rule is active (a network failure for the SDK)', async () => {
    const sqs = new SQSClient(viaProxy());
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'fp-queue' }));
    proxy.add({
      name: 'sqs down',
      target: 'AmazonSQS.SendMessage',
      untilMs: Date.now() + 1_500,
      action: { kind: 'reset' },
    });
    await expect(sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'a' }))).rejects.toThrow();
    // other SQS operations pass meanwhile
    expect((await sqs.send(new ListQueuesCommand({}))).QueueUrls).toContain(QueueUrl);
    await new Promise((r) => setTimeout(r, 1_600));
    expect((await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'b' }))).MessageId).toBeTruthy();
    proxy.clear();
  });

  it('matches REST requests by path (OpenSearch _bulk 429)', async () => {
    proxy.add({ name: 'bulk', path: /\/_bulk/, count: 1, action: OPENSEARCH_429 });
    const first = await fetch(`${proxy.endpoint}/_bulk`, { method: 'POST', body: '{}\n' });
    expect(first.status).toBe(429);
    expect(((await first.json()) as { error: { type: string } }).error.type).toBe('es_rejected_execution_exception');
    // count used up: the next one reaches moto (which does not serve /_bulk, but answers)
    const second = await fetch(`${proxy.endpoint}/_bulk`, { method: 'POST', body: '{}\n' });
    expect(second.status).not.toBe(429);
    proxy.clear();
  });
});
