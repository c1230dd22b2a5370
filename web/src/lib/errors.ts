import type { CombinedError } from '@urql/core';

// The API's error codes (API.md "Errors").
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'PAYMENT_FAILED'
  | 'RATE_LIMITED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'INTERNAL_SERVER_ERROR'
  | 'NETWORK';

export interface ApiError {
  code: ErrorCode | string;
  /** A sentence for people. */
  message: string;
  /** `extensions.fields` of BAD_USER_INPUT, keyed by field name. */
  fields: Record<string, string>;
  retryAfterSeconds?: number;
}

interface FieldEntry {
  field?: unknown;
  message?: unknown;
}

/** Reads the first GraphQL error (or the network error) of an urql result. */
export function toApiError(error: CombinedError | undefined | null): ApiError | null {
  if (!error) return null;
  if (error.networkError && error.graphQLErrors.length === 0) {
    return {
      code: 'NETWORK',
      message: 'Could not reach the server. Check your connection and try again.',
      fields: {},
    };
  }
  const first = error.graphQLErrors[0];
  if (!first) return { code: 'INTERNAL_SERVER_ERROR', message: error.message, fields: {} };
  const ext = (first.extensions ?? {}) as Record<string, unknown>;
  const fields: Record<string, string> = {};
  for (const e of error.graphQLErrors) {
    const list = (e.extensions as Record<string, unknown> | undefined)?.fields;
    if (Array.isArray(list)) {
      for (const f of list as FieldEntry[]) {
        if (typeof f.field === 'string' && typeof f.message === 'string' && !fields[f.field]) {
          fields[f.field] = f.message;
        }
      }
    }
  }
  const code = typeof ext.code === 'string' ? ext.code : 'INTERNAL_SERVER_ERROR';
  const retry = typeof ext.retryAfterSeconds === 'number' ? ext.retryAfterSeconds : undefined;
  const message =
    code === 'BAD_USER_INPUT' && Object.keys(fields).length === 0
      ? capitalize(first.message) // not about one field (e.g. a value that does not parse)
      : humanMessage(code, first.message, retry);
  return { code, message, fields, retryAfterSeconds: retry };
}

function humanMessage(code: string, message: string, retry?: number): string {
  switch (code) {
    case 'RATE_LIMITED':
      return retry ? `Too many attempts; try again in ${formatWait(retry)}.` : 'Too many attempts; try again later.';
    case 'INTERNAL_SERVER_ERROR':
      return 'Something went wrong on the server. Please try again.';
    case 'BAD_USER_INPUT':
      return 'Please correct the highlighted fields.';
    default:
      return capitalize(message);
  }
}

function formatWait(s: number): string {
  if (s < 90) return `${s} seconds`;
  return `${Math.ceil(s / 60)} minutes`;
}

function capitalize(s: string): string {
  return s ? s[0].toUpperCase() + s.slice(1) : s;
}
