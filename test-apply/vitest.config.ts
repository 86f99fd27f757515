// The apply tier: real `atmos terraform plan/apply/destroy -s local` against a moto server.
// Run it with `bash scripts/test-apply.sh` (starts moto, synthesizes, builds the artifacts).
// Kept out of the default `npx vitest run` (vitest.config.ts includes only test/, components/
// and lambda-src/test/).
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: join(__dirname, '..'),
  test: {
    include: ['test-apply/**/*.test.ts'],
    // One file, tests in order (plan → apply → destroy); each test drives one OpenTofu run.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    fileParallelism: false,
    testTimeout: 15 * 60_000,
    hookTimeout: 5 * 60_000,
  },
});
