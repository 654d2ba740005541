/**
 * The subject grammar, in one place: pure string functions, no client library.
 *
 * Subjects are dot-separated tokens; a pattern may use `*` (exactly one token) and `>` (one
 * or more trailing tokens, last token only), as in NATS.
 * - telemetry in:   `<prefix>.<site>.<source>` (partitioned: `<partitionPrefix>.<p>.<site>.<source>`)
 * - dead letters:   `<prefix>.<site>` (`_unknown` for a missing or malformed site)
 * - results out:    `<resultsPrefix>.<site>`, alerts `<alertsPrefix>.<site>`
 */
import type { OutputRecord } from '../domain/index.js';

/** A subject or pattern that is not dot-separated non-empty tokens (or misuses wildcards). */
export class InvalidSubjectError extends Error {
  override readonly name = 'InvalidSubjectError';
}

/**
 * The tokens of a subject (`allowWildcards` false) or a subscription pattern (true). Throws
 * InvalidSubjectError for an empty token, whitespace, or a misplaced wildcard.
 */
export function subjectTokens(subject: string, allowWildcards: boolean): string[] {
  const tokens = subject.split('.');
  tokens.forEach((t, i) => {
    if (t === '' || /\s/.test(t)) throw new InvalidSubjectError(`invalid subject '${subject}': empty token or whitespace`);
    if (!allowWildcards && (t === '*' || t === '>')) throw new InvalidSubjectError(`cannot publish to a wildcard subject '${subject}'`);
    if (t === '>' && i !== tokens.length - 1) throw new InvalidSubjectError(`invalid pattern '${subject}': '>' must be the last token`);
  });
  return tokens;
}

/** NATS matching of a subject's tokens against a pattern's tokens. */
export function subjectMatches(patternTokens: readonly string[], subjectTokens: readonly string[]): boolean {
  for (let i = 0; i < patternTokens.length; i++) {
    const p = patternTokens[i]!;
    if (p === '>') return subjectTokens.length > i;
    if (i >= subjectTokens.length) return false;
    if (p !== '*' && p !== subjectTokens[i]) return false;
  }
  return patternTokens.length === subjectTokens.length;
}

/** Everything under a prefix: `<prefix>.>`. */
export function allUnder(prefix: string): string {
  return `${prefix}.>`;
}

/** Everything under one token of a prefix: `<prefix>.<token>.>` (a site, or a partition). */
export function allUnderToken(prefix: string, token: string): string {
  return `${prefix}.${token}.>`;
}

/** Subjects a telemetry source subscribes to: one per site filter, or the whole prefix. */
export function telemetrySubjects(subjectPrefix: string, sites: readonly string[] | undefined): string[] {
  return sites === undefined || sites.length === 0 ? [allUnder(subjectPrefix)] : sites.map((site) => allUnderToken(subjectPrefix, site));
}

/** `<prefix>.<site>.<source>`: the subject a reading of `site` is published on. */
export function telemetrySubject(prefix: string, site: string, source: string): string {
  return `${prefix}.${site}.${source}`;
}

/**
 * `<prefix>.<site>.<source>` → its parts, or null when the subject has another shape. The
 * prefix may hold `*` tokens matching any one token (partitioned subjects: `tp.*`).
 */
export function parseTelemetrySubject(subject: string, prefix: string): { site: string; source: string } | null {
  let rest: string;
  if (!prefix.includes('*')) {
    if (!subject.startsWith(prefix + '.')) return null;
    rest = subject.slice(prefix.length + 1);
  } else {
    const want = prefix.split('.');
    let at = 0;
    for (const token of want) {
      const dot = subject.indexOf('.', at);
      if (dot < 0) return null;
      const got = subject.slice(at, dot);
      if (got === '' || (token !== '*' && token !== got)) return null;
      at = dot + 1;
    }
    rest = subject.slice(at);
  }
  const dot = rest.indexOf('.');
  if (dot <= 0 || dot === rest.length - 1) return null;
  return { site: rest.slice(0, dot), source: rest.slice(dot + 1) };
}

/** The subject prefix a pipeline parses sites from: partitioned subjects carry `<p>` first. */
export function telemetrySubjectPattern(source: { subjectPrefix: string; partitions?: { subjectPrefix: string } | undefined }): string {
  return source.partitions === undefined ? source.subjectPrefix : `${source.partitions.subjectPrefix}.*`;
}

/** The site token used when a message's site is unknown or not a valid id. */
export const UNKNOWN_SITE = '_unknown';

const SITE_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** `<prefix>.<site>`, with `_unknown` for a missing or malformed site (no subject injection). */
export function deadLetterSubject(subjectPrefix: string, site: string | undefined): string {
  return `${subjectPrefix}.${site !== undefined && SITE_RE.test(site) ? site : UNKNOWN_SITE}`;
}

/** The subject of a result record: results and alerts by site. */
export function resultSubject(prefixes: { resultsPrefix: string; alertsPrefix: string }, record: OutputRecord): string {
  return `${record.type === 'alert' ? prefixes.alertsPrefix : prefixes.resultsPrefix}.${record.site}`;
}
