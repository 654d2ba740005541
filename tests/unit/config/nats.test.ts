/** Validation of the `nats` section's server URLs: no credentials in URLs, one TLS setting. */
import { describe, expect, it } from 'vitest';
import { formatIssues, parseConfigText } from '../../../src/config/index.js';

const SITE = 'sites:\n  - id: s1\n    nodes:\n      - { id: a, level: rack, rating: 10kW, meters: [m1] }\n';

function problems(nats: string): string[] {
  const r = parseConfigText(`source: { kind: nats }\nnats: ${nats}\n${SITE}`, 'test.yaml');
  return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
}

describe('nats.servers', () => {
  it('refuses credentials in a URL, by path, pointing at the secret forms, without repeating the URL', () => {
    const issues = problems('{ servers: [nats://127.0.0.1:4222, "nats://alice:pw-81c3e@nats-2:4222"] }');
    expect(issues).toEqual([
      'nats.servers[1]: credentials in a server URL are not supported (the client ignores them and logs would show them): ' +
        'give them as nats.user + nats.password, or nats.token, each as { env: VAR } or { file: path }',
    ]);
    expect(issues.join('\n')).not.toContain('pw-81c3e');
  });

  it('refuses a token in a URL too', () => {
    expect(problems('{ servers: ["tls://s3cr3t-token@nats-1:4443"] }')).toHaveLength(1);
  });

  it('refuses mixing tls:// with nats:// without a tls section', () => {
    expect(problems('{ servers: [tls://nats-1:4443, nats://nats-2:4222] }')).toEqual([
      'nats.servers: mixes tls:// with other schemes: TLS is one setting for the whole connection; use tls:// for every server, or add a tls section (TLS for all)',
    ]);
  });

  it('accepts tls:// everywhere, or a mix with a tls section, and plain URLs', () => {
    for (const nats of ['{ servers: [tls://nats-1:4443, tls://nats-2:4443] }', '{ servers: [tls://nats-1:4443, nats://nats-2:4222], tls: { ca: /etc/ca.pem } }', '{ servers: [nats://nats-1:4222, "nats-2:4222"] }']) {
      const r = parseConfigText(`source: { kind: nats }\nnats: ${nats}\n${SITE}`, 'test.yaml');
      expect(r.ok, r.ok ? '' : formatIssues('test.yaml', r.issues)).toBe(true);
    }
  });
});
