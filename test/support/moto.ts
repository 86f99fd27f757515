/**
 * vitest hooks around the moto server of ./moto-server: one server per test file.
 *
 *   const moto = useMotoServer();            // registers beforeAll/afterAll
 *   const client = new KinesisClient(moto.clientConfig());
 */
import { afterAll, beforeAll } from 'vitest';
import { type MotoServer, REPO_ROOT, startMotoServer, TEST_REGION } from './moto-server';

export { type MotoServer, REPO_ROOT, startMotoServer, TEST_REGION };

/**
 * Registers beforeAll/afterAll hooks that start and stop one moto server for the calling
 * test file. The returned object is usable inside tests (after beforeAll ran).
 */
export function useMotoServer(): MotoServer {
  let server: Awaited<ReturnType<typeof startMotoServer>> | undefined;
  beforeAll(async () => {
    server = await startMotoServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  const current = () => {
    if (!server) throw new Error('moto server not started: use inside a test, after beforeAll');
    return server;
  };
  return {
    get endpoint() {
      return current().endpoint;
    },
    clientConfig: () => current().clientConfig(),
    reset: () => current().reset(),
  };
}
