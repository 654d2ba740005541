import { describe, expect, it } from 'vitest';
import { ConsumerEvents, ErrorCode, NatsError } from 'nats';
import { apiErrorCode, ConsumerGoneError, isMissingConsumer, isTransient, JS_ERR_CONSUMER_NOT_FOUND, JS_ERR_STREAM_NOT_FOUND } from '../../../../src/sources/jetstream/errors.js';

/** A JetStream API error as nats.js raises it: the server's answer in `api_error`. */
function apiError(errCode: number, description: string): NatsError {
  const err = new NatsError(description, '404');
  err.api_error = { code: 404, err_code: errCode, description };
  return err;
}

describe('JetStream error classification (by code, never by message text)', () => {
  it('a consumer gone (no responders, API code 10014) is missing; a stream gone by API code and a status event alone are not', () => {
    expect(isMissingConsumer(new ConsumerGoneError(ConsumerEvents.ConsumerDeleted))).toBe(false);
    expect(isMissingConsumer(NatsError.errorForCode(ErrorCode.NoResponders))).toBe(true);
    expect(isMissingConsumer(apiError(JS_ERR_CONSUMER_NOT_FOUND, 'consumer not found'))).toBe(true);
    expect(apiErrorCode(apiError(JS_ERR_STREAM_NOT_FOUND, 'stream not found'))).toBe(JS_ERR_STREAM_NOT_FOUND);
    expect(isMissingConsumer(apiError(JS_ERR_STREAM_NOT_FOUND, 'stream not found'))).toBe(false);
  });

  it('message text alone classifies nothing', () => {
    expect(isMissingConsumer(new Error('consumer not found'))).toBe(false);
    expect(isMissingConsumer(new NatsError('consumer deleted but coded otherwise', ErrorCode.BadJson))).toBe(false);
    expect(isTransient(new Error('TIMEOUT'))).toBe(false);
  });

  it('timeouts, no responders, draining, disconnect and refused connections are transient; the rest is not', () => {
    for (const code of [ErrorCode.Timeout, ErrorCode.NoResponders, ErrorCode.ConnectionDraining, ErrorCode.Disconnect, ErrorCode.ConnectionRefused]) {
      expect(isTransient(NatsError.errorForCode(code))).toBe(true);
    }
    expect(isTransient(NatsError.errorForCode(ErrorCode.BadAuthentication))).toBe(false);
    expect(isTransient(apiError(JS_ERR_CONSUMER_NOT_FOUND, 'consumer not found'))).toBe(false);
  });

  it('ConsumerGoneError names the status event', () => {
    const err = new ConsumerGoneError(ConsumerEvents.StreamNotFound);
    expect(err.event).toBe(ConsumerEvents.StreamNotFound);
    expect(err.message).toContain(ConsumerEvents.StreamNotFound);
  });
});
