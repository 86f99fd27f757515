/**
 * kinesis-mock (npm `kinesis-local`, a dev dependency) on free 127.0.0.1 ports, for tests that need
 * the other Kinesis emulator (enhanced fan-out, no moto write races). The apply tier starts its own
 * through test-apply/emulators.ts (with the account id and TLS certificate the stack needs).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { freePort } from './moto-server';
import { REPO_ROOT } from './paths';

export interface KinesisMock {
  /** Plain-HTTP endpoint of the API. */
  readonly endpoint: string;
  /** A client of it (dummy credentials, us-east-1, 3 attempts). */
  readonly client: KinesisClient;
  stop(): void;
}

/** Starts kinesis-mock (streams become ACTIVE at once) and waits until it answers, up to 60 s. */
export async function startKinesisMock(): Promise<KinesisMock> {
  const [plain, tls] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(REPO_ROOT, 'node_modules', 'kinesis-local', 'main.js')], {
    cwd: join(REPO_ROOT, 'node_modules', 'kinesis-local'),
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(plain),
      KINESIS_MOCK_TLS_PORT: String(tls),
      LOG_LEVEL: 'WARN',
      CREATE_STREAM_DURATION: '0ms',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const endpoint = `http://127.0.0.1:${plain}`;
  const client = new KinesisClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 3,
  });
  const stop = () => {
    child.kill('SIGTERM');
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await client.send(new DescribeStreamSummaryCommand({ StreamName: 'probe' }));
      break;
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') break;
      if (Date.now() > deadline) {
        stop();
        throw new Error(`kinesis-mock did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return { endpoint, client, stop };
}
