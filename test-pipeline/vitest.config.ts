// The pipeline-local tier: the whole pipeline on one machine (scripts/pipeline-local.ts), deployed
// once, then every fault scenario back to back. Run with `bash scripts/test-pipeline.sh`… or
// `npx vitest run --config test-pipeline/vitest.config.ts` after `source scripts/env.sh`.
// Kept out of the default `npx vitest run`.
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: join(__dirname, '..'),
  test: {
    include: ['test-pipeline/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 10 * 60_000,
    hookTimeout: 25 * 60_000,
  },
});
