/**
 * The manual holds together: every relative link in README.md, CONTRIBUTING.md, CHANGELOG.md
 * and docs/*.md points at a file of the repository (and, for a `#anchor` into a markdown
 * page, at one of its headings), every page of docs/ is reachable from the README, and the
 * README stays a front page. Source comments citing "docs/design.md section N" name a section
 * that exists.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const pages = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', ...readdirSync(join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (file: string): string => readFileSync(join(repoRoot, file), 'utf8');

/** Markdown without fenced code blocks (links in code are not links). */
function prose(text: string): string {
  return text.replace(/^\s*(```|~~~)[\s\S]*?^\s*\1.*$/gm, '');
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  return new Set(prose(read(file)).split('\n').flatMap((line) => {
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    return m === null ? [] : [anchorOf(m[1]!)];
  }));
}

/** Relative links `[text](target)` of a page: no scheme, no mailto. */
function links(file: string): string[] {
  return [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t));
}

describe('the manual', () => {
  it('GitHub anchors are derived as GitHub derives them', () => {
    expect(anchorOf('Windows, watermarks and late data')).toBe('windows-watermarks-and-late-data');
    expect(anchorOf('`source.kind: jetstream`')).toBe('sourcekind-jetstream');
    expect(anchorOf('Exit codes')).toBe('exit-codes');
  });

  for (const file of pages) {
    it(`every relative link in ${file} resolves`, () => {
      const broken = links(file).filter((target) => {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const targetFile = path === '' ? file : normalize(join(dirname(file), path));
        if (!existsSync(join(repoRoot, targetFile))) return true;
        return anchor !== undefined && targetFile.endsWith('.md') && !anchors(targetFile).has(anchor);
      });
      expect(broken).toEqual([]);
    });
  }

  it('the README is a front page that links every page of docs/', () => {
    const readme = read('README.md');
    expect(readme.split('\n').length).toBeLessThan(200);
    const linked = new Set(links('README.md').map((t) => t.split('#')[0]));
    const docs = pages.filter((p) => p.startsWith('docs/'));
    expect(docs.filter((p) => !linked.has(p))).toEqual([]);
  });

  it('every "docs/design.md section N" cited in src/ is a numbered section of docs/design.md', () => {
    const sections = new Set([...read('docs/design.md').matchAll(/^## (\d+)\. /gm)].map((m) => Number(m[1])));
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(join(repoRoot, dir))) {
        const path = `${dir}/${name}`;
        if (statSync(join(repoRoot, path)).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk('src');
    const cited = files.flatMap((f) => [...read(f).matchAll(/docs\/design\.md section (\d+)/g)].map((m) => ({ f, n: Number(m[1]) })));
    expect(cited.length).toBeGreaterThan(0);
    expect(cited.filter((c) => !sections.has(c.n))).toEqual([]);
  });
});
