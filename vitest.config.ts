import { defineConfig } from 'vitest/config';

// Integration tests start real servers (nats-server, prometheus, victoria-metrics, influxd):
// separate processes per test file, generous timeouts, and at most 2 files at once (2 cores).
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    globalSetup: ['tests/global-setup.ts'],
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
  },
});
