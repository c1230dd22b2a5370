// Subscriptions over Server-Sent Events with the graphql-sse client (distinct connections mode):
// an anonymous ticketUpdated stream gets the change made meanwhile, and a signed-in userUpdated
// stream ends when its session signs out. Prints one JSON line.
// Usage: node sse.mjs <url of /graphql> <token> <ticket id>
import { createClient } from 'graphql-sse';

const [url, token, ticketId] = process.argv.slice(2);
if (!url || !token || !ticketId) throw new Error('usage: node sse.mjs <url> <token> <ticket id>');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (ms, promise, what) =>
  Promise.race([promise, sleep(ms).then(() => { throw new Error(`timed out: ${what}`); })]);

async function post(query, bearer) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
  });
  return response.json();
}

const anonymous = createClient({ url });
const signedIn = createClient({ url, headers: { authorization: `Bearer ${token}` } });

const ticketEvents = [];
let gotTicket;
const ticketArrived = new Promise((resolve) => { gotTicket = resolve; });
const stopTickets = anonymous.subscribe(
  { query: `subscription { ticketUpdated(id: "${ticketId}") { id title } }` },
  { next: (value) => { ticketEvents.push(value); gotTicket(); }, error: (e) => { ticketEvents.push({ error: String(e) }); gotTicket(); }, complete: () => {} },
);

let userStream = 'open';
let ended;
const userEnded = new Promise((resolve) => { ended = resolve; });
signedIn.subscribe(
  { query: 'subscription { userUpdated { id } }' },
  {
    next: () => {},
    error: (e) => { userStream = `error: ${e instanceof Error ? e.message : JSON.stringify(e)}`; ended(); },
    complete: () => { userStream = 'complete'; ended(); },
  },
);

// Both streams are up once the server has answered their requests; give them a moment.
await sleep(1000);
const updated = await post(
  `mutation { updateTicket(id: "${ticketId}", input: { title: "Changed over SSE" }) { version } }`,
  token,
);
await within(10_000, ticketArrived, 'the ticketUpdated event');
const signedOut = await post('mutation { signOut }', token);
await within(10_000, userEnded, 'the end of the revoked stream').catch((e) => { userStream = String(e); });
stopTickets();
anonymous.dispose();
signedIn.dispose();
console.log(JSON.stringify({ updated, ticketEvents, signedOut, userStream }));
