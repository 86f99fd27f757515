/**
 * Starts a real moto server (PyPI `moto[server]`, installed by scripts/bootstrap.sh into
 * .tools/venv) on 127.0.0.1 for the duration of a test file, and stops it afterwards.
 *
 * In a vitest file use {@link useMotoServer} from ./moto (it registers beforeAll/afterAll);
 * scripts outside vitest (benchmarks) call {@link startMotoServer} and stop it themselves.
 *
 * Each test file gets its own server on its own free port, so files can run in parallel
 * without sharing state. Only loopback is ever used.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { NodeHttpHandler } from '@smithy/node-http-handler';

import { REPO_ROOT } from './paths';

export { REPO_ROOT };
const MOTO_BIN = join(REPO_ROOT, '.tools', 'venv', 'bin', 'moto_server');

/** Region used by every moto-backed test. */
export const TEST_REGION = 'us-east-1';

export interface MotoServer {
  /** http://127.0.0.1:<port> once started. */
  readonly endpoint: string;
  /**
   * AWS SDK v3 client configuration pointing at this server with dummy credentials, over
   * HTTP/1.1 (the Kinesis client defaults to HTTP/2, which moto does not speak).
   */
  clientConfig(): {
    endpoint: string;
    region: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    requestHandler: NodeHttpHandler;
  };
  /** Clears all moto state (POST /moto-api/reset). */
  reset(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (also used by the apply tier's other emulators). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('could not determine a free port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited early with code ${child.exitCode}`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within ${timeoutMs} ms`);
}

/**
 * Starts a moto server and returns a handle; prefer {@link useMotoServer} in tests.
 * `env`: extra environment for the server (the apply tier's MOTO_LAMBDA_EXTERNAL_KINESIS_ENDPOINT).
 */
export async function startMotoServer(
  opts: { env?: Record<string, string> } = {},
): Promise<MotoServer & { stop(): Promise<void> }> {
  if (!existsSync(MOTO_BIN)) {
    throw new Error(`moto_server not found at ${MOTO_BIN}: run scripts/bootstrap.sh first`);
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(MOTO_BIN, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env, MOTO_CALL_RESET_API: 'true' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  try {
    await waitUntilUp(endpoint, child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    clientConfig: () => ({
      endpoint,
      region: TEST_REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      requestHandler: new NodeHttpHandler(),
    }),
    reset: async () => {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
