/**
 * The project's tooling and tests run on the pinned Node.js (.node-version, installed by
 * scripts/bootstrap.sh and put first on PATH by scripts/env.sh), and the AWS SDK's Node-version
 * warning (it asks for Node >= 22 from January 2027) does not appear, in the test run nor in the
 * Lambda handler bundle run as its own process.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bundleProcessEnv,
  kinesisEvent,
  profileItem,
  rawEvent,
  setUp,
  type Resources,
} from '../../lambda-src/test/helpers';
import { buildLambda, type LambdaBuild } from '../../scripts/build-lambda';
import { useMotoServer } from '../support/moto';
import { REPO_ROOT } from '../support/paths';

const PINNED = `v${readFileSync(join(REPO_ROOT, '.node-version'), 'utf8').trim()}`;
const SDK_WARNING = 'NodeVersionSupportWarning';
/** Makes a process look like Node 20 to the SDK's check: the control that the check still fires. */
const AS_NODE_20 = "Object.defineProperty(process, 'version', { value: 'v20.20.2' });";
const RUNNER = `
const { handler } = require('./index.js');
const event = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const context = { functionName: 'enrichment', awsRequestId: 'req-1', getRemainingTimeInMillis: () => 60000 };
handler(event, context).then((res) => {
  process.stdout.write('\\nRESULT ' + JSON.stringify({ res, major: process.versions.node.split('.')[0] }) + '\\n');
});
`;

describe('Node.js toolchain', () => {
  it('runs the tests on the pinned Node.js 22', () => {
    expect(PINNED).toMatch(/^v22\.\d+\.\d+$/);
    expect(process.version).toBe(PINNED);
    // cdktn-cli asks for >= 22.19; the AWS SDK for >= 22.
    const [major, minor] = process.version.slice(1).split('.').map(Number);
    expect(major === 22 && minor! >= 19, process.version).toBe(true);
  });

  it('puts the pinned node first on PATH (what #!/usr/bin/env node scripts and npm run)', () => {
    const r = spawnSync('node', ['-p', 'process.version + " " + process.execPath'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [version, execPath] = r.stdout.trim().split(' ');
    expect(version).toBe(PINNED);
    expect(execPath).toBe(process.execPath);
  });

  describe('the AWS SDK Node-version warning', () => {
    const moto = useMotoServer();
    let build: LambdaBuild;
    let dir: string;
    let resources: Resources;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'node-toolchain-'));
      build = await buildLambda(join(dir, 'dist'));
      writeFileSync(join(dir, 'dist', 'runner.js'), RUNNER);
      resources = await setUp(moto, [profileItem(1)]);
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /**
     * Runs the handler bundle in its own process (as the bundle tests do) on one good and one bad
     * record against moto: the DynamoDB, Kinesis and SQS clients are created (lazily, at first use),
     * which is when the SDK checks the Node version.
     */
    function runBundle(prelude: string) {
      const event = kinesisEvent([{ data: rawEvent(0, 'cust-1') }, { data: 'not json' }]);
      return spawnSync(process.execPath, ['-e', `${prelude} require('./runner.js');`], {
        cwd: join(dir, 'dist'),
        input: JSON.stringify(event),
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          ...bundleProcessEnv(moto.endpoint),
          LOOKUP_TABLE_NAME: resources.table,
          OUTPUT_STREAM_NAME: resources.stream,
          DLQ_URL: resources.queueUrl,
          DAX_ENDPOINT: '',
          POWERTOOLS_LOG_LEVEL: 'WARN',
        },
      });
    }

    /** The handler's answer: the bad record goes to the DLQ, so no batch item fails. */
    function result(r: ReturnType<typeof runBundle>) {
      expect(r.status, r.stderr).toBe(0);
      const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
      expect(line, r.stdout + r.stderr).toBeDefined();
      return JSON.parse(line!.slice(7)) as { res: unknown; major: string };
    }

    it('does not appear when the handler bundle runs on the pinned node', () => {
      expect(build.indexJs).toBe(join(dir, 'dist', 'index.js'));
      const r = runBundle('');
      expect(result(r)).toEqual({ res: { batchItemFailures: [] }, major: '22' });
      expect(r.stderr).not.toContain(SDK_WARNING);
    });

    it('does appear when the same bundle sees a Node 20 version (the check above can fail)', () => {
      const r = runBundle(AS_NODE_20);
      expect(result(r)).toEqual({ res: { batchItemFailures: [] }, major: '22' });
      expect(r.stderr).toContain(SDK_WARNING);
      expect(r.stderr).toContain('You are running node v20.20.2');
    });

    it('has not fired in this test process (the SDK clients the tests create)', async () => {
      const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
      const warnings: string[] = [];
      const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      try {
        // The SDK checks the version when a client is constructed (no request goes out).
        new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
        await new Promise((r) => setImmediate(r));
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.filter((w) => w.includes(SDK_WARNING))).toEqual([]);
    });
  });
});
