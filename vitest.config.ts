import { defineConfig } from 'vitest/config';

// Three tiers, one project each (`vitest run --project unit` …; `npm test` runs all three):
// - unit: no sockets, no servers, nothing built; seconds per file.
// - integration: real servers (nats-server, prometheus, victoria-metrics, influxd) on 127.0.0.1.
// - e2e: the built CLI as a user runs it.
// tests/build-cli.ts builds dist/ once, for the projects that run the built CLI.
// Separate processes per test file, generous timeouts, and at most 2 files at once (2 cores).
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['tests/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['tests/integration/**/*.test.ts'], globalSetup: ['tests/build-cli.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], globalSetup: ['tests/build-cli.ts'] } },
    ],
  },
});
