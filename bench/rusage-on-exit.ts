/**
 * Preload for measuring a CLI run from outside (`node --import …/rusage-on-exit.js …`): at
 * exit, writes the process's resource usage and wall time as JSON to $BENCH_RUSAGE_FILE.
 */
import { writeFileSync } from 'node:fs';

const file = process.env['BENCH_RUSAGE_FILE'];
const startMs = performance.now();
if (file !== undefined) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(file, JSON.stringify({ wallSeconds: (performance.now() - startMs) / 1000, cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6, maxRssBytes: usage.maxRSS * 1024 }));
  });
}
