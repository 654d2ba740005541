// Regenerates docs/cli.md from the built CLI program (`npm run docs:cli` builds first).
import { writeFileSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';
import { renderCliReference } from '../dist/cli/cli-reference.js';

const target = new URL('../docs/cli.md', import.meta.url);
writeFileSync(target, renderCliReference());
process.stdout.write(`wrote ${target.pathname}\n`);
