import { describe, expect, it } from 'vitest';
import {
  deadLetterSubject,
  InvalidSubjectError,
  parseTelemetrySubject,
  resultSubject,
  subjectMatches,
  subjectTokens,
  telemetrySubject,
  telemetrySubjectPattern,
  telemetrySubjects,
  UNKNOWN_SITE,
} from '../../../src/codec/index.js';
import type { OutputRecord } from '../../../src/domain/index.js';

describe('subject grammar', () => {
  it('a telemetry subject built for a site parses back to that site and source', () => {
    const subject = telemetrySubject('telemetry', 'dc1', 'replay');
    expect(subject).toBe('telemetry.dc1.replay');
    expect(parseTelemetrySubject(subject, 'telemetry')).toEqual({ site: 'dc1', source: 'replay' });
  });

  it('a partitioned subject parses with a `*` in the prefix pattern', () => {
    const pattern = telemetrySubjectPattern({ subjectPrefix: 'telemetry', partitions: { subjectPrefix: 'tp' } });
    expect(pattern).toBe('tp.*');
    expect(parseTelemetrySubject('tp.3.dc2.gw1', pattern)).toEqual({ site: 'dc2', source: 'gw1' });
    expect(parseTelemetrySubject('tp.3.dc2', pattern)).toBeNull();
    expect(telemetrySubjectPattern({ subjectPrefix: 'telemetry' })).toBe('telemetry');
  });

  it('subjects of another shape do not parse', () => {
    expect(parseTelemetrySubject('other.dc1.gw1', 'telemetry')).toBeNull();
    expect(parseTelemetrySubject('telemetry.dc1', 'telemetry')).toBeNull();
    expect(parseTelemetrySubject('telemetry.dc1.', 'telemetry')).toBeNull();
  });

  it('a source subscribes to the whole prefix, or one pattern per site; every pattern matches that site', () => {
    expect(telemetrySubjects('telemetry', undefined)).toEqual(['telemetry.>']);
    expect(telemetrySubjects('telemetry', [])).toEqual(['telemetry.>']);
    const patterns = telemetrySubjects('telemetry', ['dc1', 'dc2']);
    expect(patterns).toEqual(['telemetry.dc1.>', 'telemetry.dc2.>']);
    const tokens = subjectTokens(telemetrySubject('telemetry', 'dc2', 'gw'), false);
    expect(patterns.map((p) => subjectMatches(subjectTokens(p, true), tokens))).toEqual([false, true]);
  });

  it('wildcards and empty tokens are refused where they do not belong', () => {
    expect(() => subjectTokens('telemetry.*.gw1', false)).toThrow(InvalidSubjectError);
    expect(() => subjectTokens('telemetry.>.gw1', true)).toThrow(InvalidSubjectError);
    expect(() => subjectTokens('a..b', true)).toThrow(InvalidSubjectError);
    expect(subjectTokens('telemetry.*.>', true)).toEqual(['telemetry', '*', '>']);
  });

  it('dead letters go to the site, or to _unknown for a missing or unsafe site', () => {
    expect(deadLetterSubject('headroom.deadletter', 'dc1')).toBe('headroom.deadletter.dc1');
    expect(deadLetterSubject('headroom.deadletter', undefined)).toBe(`headroom.deadletter.${UNKNOWN_SITE}`);
    expect(deadLetterSubject('headroom.deadletter', 'dc1.>')).toBe(`headroom.deadletter.${UNKNOWN_SITE}`);
    expect(deadLetterSubject('headroom.deadletter', '')).toBe(`headroom.deadletter.${UNKNOWN_SITE}`);
  });

  it('alerts and other results go to their own prefix, by site', () => {
    const prefixes = { resultsPrefix: 'headroom.results', alertsPrefix: 'headroom.alerts' };
    const alert = { type: 'alert', site: 'dc1' } as OutputRecord;
    const siteRecord = { type: 'site', site: 'dc2' } as OutputRecord;
    expect(resultSubject(prefixes, alert)).toBe('headroom.alerts.dc1');
    expect(resultSubject(prefixes, siteRecord)).toBe('headroom.results.dc2');
  });
});
