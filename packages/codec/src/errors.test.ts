import { describe, expect, it } from 'vitest';
import { ERROR_CODE_NAMES, ERROR_CODES, errorCodeForHttpStatus, fedError, httpStatusOf } from './errors.js';

describe('error table', () => {
  it('gives every code one HTTP status, and a FedError its retryable flag', () => {
    for (const code of ERROR_CODE_NAMES) {
      expect(httpStatusOf(code)).toBe(ERROR_CODES[code].http);
      expect(httpStatusOf(code) >= 400 && httpStatusOf(code) < 600).toBe(true);
      expect(fedError(code, 'x').retryable).toBe(ERROR_CODES[code].retryable);
    }
    expect(httpStatusOf('PACKAGE_INVALID')).toBe(422);
    expect(httpStatusOf('STALE_ROUND')).toBe(409);
  });

  it('maps a bodiless status back to a code that carries the same status where one is unique', () => {
    expect(errorCodeForHttpStatus(401)).toBe('UNAUTHORIZED');
    expect(errorCodeForHttpStatus(404)).toBe('NOT_FOUND');
    expect(errorCodeForHttpStatus(409)).toBe('CONFLICT');
    expect(errorCodeForHttpStatus(400)).toBe('BAD_CONFIG');
    expect(errorCodeForHttpStatus(422)).toBe('PACKAGE_INVALID');
    expect(errorCodeForHttpStatus(413)).toBe('FRAME_TOO_LARGE');
    expect(errorCodeForHttpStatus(504)).toBe('TIMEOUT');
    for (const s of [500, 502, 503]) expect(errorCodeForHttpStatus(s)).toBe('UNAVAILABLE');
    expect(errorCodeForHttpStatus(418)).toBe('BAD_CONFIG');
    for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND', 'CONFLICT', 'BAD_CONFIG', 'PACKAGE_INVALID', 'FRAME_TOO_LARGE', 'UNAVAILABLE', 'TIMEOUT'] as const) {
      expect(httpStatusOf(errorCodeForHttpStatus(httpStatusOf(code)))).toBe(httpStatusOf(code));
    }
  });
});
