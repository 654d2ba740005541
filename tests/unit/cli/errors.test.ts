/** The CLI's top-level error report: one line and an exit code; stacks only when asked for. */
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../../../src/cli/errors.js';
import { ConfigError } from '../../../src/cli/config-arg.js';
import { resolveSecret, SecretResolutionError } from '../../../src/config/index.js';
import { OperationalError, redactUrlCredentials } from '../../../src/telemetry/index.js';

const STACK_FRAME = /^\s+at /m;

describe('describeFailure', () => {
  it('an OperationalError: its message on one line, its exit code, no stack', () => {
    const r = describeFailure(new OperationalError('cannot serve /metrics on 127.0.0.1:9464: port 9464 is already in use; choose another', { exitCode: 1 }), { stacks: false });
    expect(r).toEqual({ text: 'headroom: cannot serve /metrics on 127.0.0.1:9464: port 9464 is already in use; choose another\n', exitCode: 1 });
  });

  it('a missing secret is a config error: exit 2, one line naming the variable and the field', () => {
    const err = ((): unknown => {
      try {
        return resolveSecret({ env: 'HEADROOM_TEST_UNSET' }, {}, () => '', 'nats.token');
      } catch (e: unknown) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(SecretResolutionError);
    const r = describeFailure(err, { stacks: false });
    expect(r.exitCode).toBe(2);
    expect(r.text).toBe(
      'headroom: nats.token: environment variable HEADROOM_TEST_UNSET is not set; export it, or point nats.token at another { env: VAR } or { file: path }\n',
    );
  });

  it('a ConfigError keeps its one line per problem and exits 2', () => {
    const r = describeFailure(new ConfigError('a.yaml: x: required\na.yaml: y: required'), { stacks: false });
    expect(r).toEqual({ text: 'a.yaml: x: required\na.yaml: y: required\n', exitCode: 2 });
  });

  it('any other Error thrown at start (a sink that finds its server unusable) is one line, exit 1', () => {
    const r = describeFailure(new Error('InfluxDB at http://127.0.0.1:1 is unreachable (ECONNREFUSED);\n start it or fix sinks.influx.url'), { stacks: false });
    expect(r).toEqual({ text: 'headroom: InfluxDB at http://127.0.0.1:1 is unreachable (ECONNREFUSED); start it or fix sinks.influx.url\n', exitCode: 1 });
    expect(r.text).not.toMatch(STACK_FRAME);
  });

  it('a programming error names its type and points at the stack', () => {
    const r = describeFailure(new TypeError('x is undefined'), { stacks: false });
    expect(r).toEqual({ text: 'headroom: TypeError: x is undefined (--log-level debug shows the stack trace)\n', exitCode: 1 });
  });

  it('with stacks asked for, the stack and the cause chain follow the line', () => {
    const cause = new Error('listen EADDRINUSE: address already in use 127.0.0.1:9464');
    const r = describeFailure(new OperationalError('cannot serve /metrics on 127.0.0.1:9464', { cause }), { stacks: true });
    const [first, ...rest] = r.text.split('\n');
    expect(first).toBe('headroom: cannot serve /metrics on 127.0.0.1:9464');
    expect(rest.join('\n')).toMatch(STACK_FRAME);
    expect(rest.join('\n')).toContain('caused by: Error: listen EADDRINUSE');
  });

  it('a thrown non-Error is printed as text', () => {
    expect(describeFailure('boom', { stacks: false })).toEqual({ text: 'headroom: boom\n', exitCode: 1 });
  });
});

describe('redactUrlCredentials', () => {
  it('hides user:password@ and token@ in URLs, and leaves other text alone', () => {
    expect(redactUrlCredentials('nats://alice:s3cret@nats-1:4222')).toBe('nats://[redacted]@nats-1:4222');
    expect(redactUrlCredentials('servers tls://tok3n@a:4443, nats://b:4222')).toBe('servers tls://[redacted]@a:4443, nats://b:4222');
    expect(redactUrlCredentials('mail alice@example.org about nats://b:4222')).toBe('mail alice@example.org about nats://b:4222');
  });
});
