// A real urql Client whose only exchange answers from the test: queries and mutations from
// `respond`, subscriptions from a subject per operation name that the test pushes events into.
import { Client, makeResult, type Exchange, type Operation, type OperationResult } from '@urql/core';
import { filter, fromValue, makeSubject, mergeMap, pipe, share, takeUntil, delay, type Subject } from 'wonka';
import type { GraphQLFormattedError } from 'graphql';

export interface Reply {
  data?: unknown;
  errors?: GraphQLFormattedError[];
}

export function opName(op: Operation): string {
  for (const d of op.query.definitions) if (d.kind === 'OperationDefinition' && d.name) return d.name.value;
  return '';
}

export function mockClient(respond: (name: string, variables: Record<string, unknown>, op: Operation) => Reply | undefined) {
  const subjects = new Map<string, Subject<unknown>>();
  const subject = (name: string) => {
    let s = subjects.get(name);
    if (!s) {
      s = makeSubject<unknown>();
      subjects.set(name, s);
    }
    return s;
  };
  const calls: { name: string; variables: Record<string, unknown> }[] = [];

  const exchange: Exchange = () => (ops$) => {
    const shared = pipe(ops$, share);
    return pipe(
      shared,
      filter((op) => op.kind !== 'teardown'),
      mergeMap((op): ReturnType<typeof fromValue<OperationResult>> => {
        const name = opName(op);
        const variables = (op.variables ?? {}) as Record<string, unknown>;
        calls.push({ name, variables });
        const teardown$ = pipe(
          shared,
          filter((t) => t.kind === 'teardown' && t.key === op.key),
        );
        if (op.kind === 'subscription') {
          return pipe(
            subject(name).source,
            mergeMap((data) => fromValue(makeResult(op, { data } as never))),
            takeUntil(teardown$),
          );
        }
        const reply = respond(name, variables, op) ?? { data: null, errors: [{ message: `no reply for ${name}` }] };
        return pipe(fromValue(makeResult(op, reply as never)), delay(1), takeUntil(teardown$));
      }),
    );
  };

  const client = new Client({ url: 'http://test/graphql', exchanges: [exchange], requestPolicy: 'network-only' });
  return {
    client,
    calls,
    /** Pushes one event to the subscribers of the subscription named `name`. */
    push(name: string, data: unknown) {
      subject(name).next(data);
    },
  };
}

export function gqlError(code: string, message: string, fields?: { field: string; message: string }[]): Reply {
  return { data: null, errors: [{ message, extensions: { code, ...(fields ? { fields } : {}) } }] };
}

