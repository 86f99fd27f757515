import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/**/*.test.ts',
      'components/**/*.test.ts',
      'lambda-src/test/**/*.test.ts',
      'local-aws/test/**/*.test.ts',
    ],
    // Tests start real servers (moto) and real CLIs (atmos); two cores is all we have.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
