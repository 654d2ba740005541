/**
 * Where the time goes in a `node --cpu-prof` profile: self time by function (and file:line),
 * the top N, and self time by file. Used for the profiles quoted in bench/README.md.
 *
 *   node dist-bench/bench/profile-top.js PROFILE.cpuprofile [N] [FROM_S TO_S]
 *
 * FROM_S/TO_S (seconds since the profile's start) keep one phase, e.g. the consumption of a
 * stream without the config load before it; the timeline (top file per 5 s) shows the phases.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topText, fromText, toText] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-top <file.cpuprofile> [N] [FROM_S TO_S]');
const top = Number(topText ?? 25);
const fromUs = Number(fromText ?? 0) * 1e6;
const toUs = toText === undefined ? Infinity : Number(toText) * 1e6;
const timeline = new Map<number, Map<string, number>>();
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
const selfUs = new Map<string, number>();
const fileUs = new Map<string, number>();
let totalUs = 0;
let atUs = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const us = profile.timeDeltas[i] ?? 0;
  atUs += us;
  if (node === undefined || atUs < fromUs || atUs > toUs) return;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*?\/(node_modules\/|dist\/|dist-bench\/)/, '$1');
  const key = `${functionName || '(anonymous)'}  ${short}:${lineNumber + 1}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  const fileKey = short === '' ? `(${functionName})` : short.replace(/^(node_modules\/(@[^/]+\/)?[^/]+)\/.*$/, '$1');
  fileUs.set(fileKey, (fileUs.get(fileKey) ?? 0) + us);
  const bucket = Math.floor(atUs / 5e6);
  const inBucket = timeline.get(bucket) ?? new Map<string, number>();
  inBucket.set(fileKey, (inBucket.get(fileKey) ?? 0) + us);
  timeline.set(bucket, inBucket);
  totalUs += us;
});
const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
console.log(`${(totalUs / 1e6).toFixed(2)} s sampled`);
console.log('-- self time by function');
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${key}`);
console.log('-- self time by file or package');
for (const [key, us] of [...fileUs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${key}`);
console.log('-- timeline: top files per 5 s');
for (const [bucket, files] of [...timeline].sort((a, b) => a[0] - b[0])) {
  const sum = [...files.values()].reduce((a, b) => a + b, 0);
  const tops = [...files].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, us]) => `${k} ${Math.round((100 * us) / sum)}%`);
  console.log(`${String(bucket * 5).padStart(5)} s  ${tops.join(', ')}`);
}
