/**
 * Where the time goes in a `node --cpu-prof` profile: self time by function (and file:line),
 * the top N, and self time by file. Used for the profiles quoted in bench/README.md.
 *
 *   node dist-bench/bench/profile-top.js PROFILE.cpuprofile [N]
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

const [file, topText] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-top <file.cpuprofile> [N]');
const top = Number(topText ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n] as const));
const selfUs = new Map<string, number>();
const fileUs = new Map<string, number>();
let totalUs = 0;
profile.samples.forEach((id, i) => {
  const node = byId.get(id);
  const us = profile.timeDeltas[i] ?? 0;
  if (node === undefined) return;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url.replace(/^.*\/(node_modules\/|dist\/|dist-bench\/)/, '$1');
  const key = `${functionName || '(anonymous)'}  ${short}:${lineNumber + 1}`;
  selfUs.set(key, (selfUs.get(key) ?? 0) + us);
  const fileKey = short === '' ? `(${functionName})` : short.replace(/^(node_modules\/(@[^/]+\/)?[^/]+)\/.*$/, '$1');
  fileUs.set(fileKey, (fileUs.get(fileKey) ?? 0) + us);
  totalUs += us;
});
const pct = (us: number): string => `${((100 * us) / totalUs).toFixed(1).padStart(5)} %`;
console.log(`${(totalUs / 1e6).toFixed(2)} s sampled`);
console.log('-- self time by function');
for (const [key, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${key}`);
console.log('-- self time by file or package');
for (const [key, us] of [...fileUs].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${key}`);
