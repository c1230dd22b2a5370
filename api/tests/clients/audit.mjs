// The GraphQL-over-HTTP specification's own audit (graphql-http's serverAudits) against one
// server. Prints one JSON line: counts by status and every audit that is not ok, with the reason
// and the start of the response. Usage: node audit.mjs http://127.0.0.1:PORT/graphql
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) throw new Error('usage: node audit.mjs <url of /graphql>');
const results = await auditServer({ url });
const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
const failures = [];
for (const result of results) {
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  if (result.status === 'ok') continue;
  let body = '';
  try {
    body = result.response ? (await result.response.text()).slice(0, 300) : '';
  } catch {
    // The body was read by the audit already.
  }
  failures.push({ status: result.status, id: result.id, name: result.name, reason: result.reason, body });
}
console.log(JSON.stringify({ counts, failures }));
