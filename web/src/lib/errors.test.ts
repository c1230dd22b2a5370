import { describe, expect, it } from 'vitest';
import { CombinedError } from '@urql/core';
import { toApiError } from './errors';

const err = (extensions: Record<string, unknown>, message = 'server says no') =>
  new CombinedError({ graphQLErrors: [{ message, extensions }] });

describe('toApiError', () => {
  it('keys extensions.fields by field', () => {
    const e = toApiError(err({ code: 'BAD_USER_INPUT', fields: [{ field: 'title', message: 'must not be empty' }, { field: 'price', message: 'must be greater than 0' }] }));
    expect(e).toMatchObject({ code: 'BAD_USER_INPUT', fields: { title: 'must not be empty', price: 'must be greater than 0' } });
    expect(e?.message).toBe('Please correct the highlighted fields.');
  });

  it('shows the message of a BAD_USER_INPUT that names no field', () => {
    expect(toApiError(err({ code: 'BAD_USER_INPUT', fields: [] }, 'failed to parse "Decimal"'))?.message).toBe('Failed to parse "Decimal"');
  });

  it('hides internals and reports network failures', () => {
    expect(toApiError(err({ code: 'INTERNAL_SERVER_ERROR' }, 'db exploded'))?.message).not.toMatch(/db/);
    const net = toApiError(new CombinedError({ networkError: new Error('fetch failed') }));
    expect(net?.code).toBe('NETWORK');
  });
});
