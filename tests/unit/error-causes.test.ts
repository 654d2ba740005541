/** Errors that wrap another keep it as their `cause` (house rule): the secret reader and the NetBox client. */
import { describe, expect, it } from 'vitest';
import { resolveSecret, SecretResolutionError } from '../../src/config/index.js';
import { NetboxError, readNetboxInventory } from '../../src/dcim/index.js';

describe('wrapped errors keep their cause', () => {
  it('an unreadable secret file: SecretResolutionError with the reader error as cause', () => {
    const readError = Object.assign(new Error('ENOENT: no such file or directory'), { code: 'ENOENT' });
    const readFile = (): string => {
      throw readError;
    };
    let caught: unknown;
    try {
      resolveSecret({ file: '/run/secrets/missing' }, {}, readFile, 'sinks.influx.token');
    } catch (err: unknown) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SecretResolutionError);
    expect((caught as SecretResolutionError).cause).toBe(readError);
  });

  it('a NetBox URL that is not a URL: NetboxError with the URL parser error as cause', async () => {
    const fetchNever = (): Promise<Response> => Promise.reject(new Error('no request expected'));
    const caught: unknown = await readNetboxInventory({ url: 'not a url', token: 't', fetch: fetchNever }).catch((err: unknown) => err);
    expect(caught).toBeInstanceOf(NetboxError);
    expect((caught as NetboxError).cause).toBeInstanceOf(TypeError);
  });
});
