// Automatic persisted queries with urql's own exchange (@urql/exchange-persisted), over POST and
// over GET: every request the client sends is recorded, to show the protocol's round trip (hash
// alone, PERSISTED_QUERY_NOT_FOUND, text and hash, then the hash alone). Prints one JSON line.
// Usage: node apq.mjs <url of /graphql>
import { Client, fetchExchange } from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';

const url = process.argv[2];
if (!url) throw new Error('usage: node apq.mjs <url of /graphql>');

async function run(method, query) {
  const sent = [];
  const recording = async (input, init) => {
    const response = await fetch(input, init);
    const body = await response.clone().json();
    const target = new URL(typeof input === 'string' ? input : input.url);
    const payload = init?.body ? JSON.parse(init.body) : Object.fromEntries(target.searchParams);
    sent.push({
      method: init?.method ?? 'GET',
      hasQuery: Boolean(payload.query),
      hasHash: JSON.stringify(payload.extensions ?? '').includes('sha256Hash'),
      code: body.errors?.[0]?.extensions?.code ?? null,
      status: response.status,
    });
    return response;
  };
  const client = new Client({
    url,
    fetch: recording,
    requestPolicy: 'network-only',
    exchanges: [persistedExchange({ preferGetForPersistedQueries: method === 'GET' }), fetchExchange],
  });
  const first = await client.query(query, {}).toPromise();
  const second = await client.query(query, {}).toPromise();
  return { sent, first: first.data ?? first.error?.message, second: second.data ?? second.error?.message };
}

const post = await run('POST', '{ tickets(first: 1) { edges { cursor } } }');
const get = await run('GET', '{ tickets(first: 2) { edges { cursor } } }');
console.log(JSON.stringify({ post, get }));
