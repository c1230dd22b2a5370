// GraphiQL, bundled (no CDN), served by the server at GET /graphql for browsers. Requests go to
// /graphql with the session cookie, so a signed-in user explores the API as themself;
// subscriptions use the same WebSocket endpoint as the app.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { createGraphiQLFetcher } from '@graphiql/toolkit';

const wsProtocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';

const fetcher = createGraphiQLFetcher({
  url: `${window.location.origin}/graphql`,
  subscriptionUrl: `${wsProtocol}//${window.location.host}/graphql/ws`,
  fetch: (input, init) => fetch(input, { ...init, credentials: 'same-origin' }),
});

const defaultQuery = `# The Tickets API. Signed in on the site?
# Then queries run as you (the session cookie goes along).
query OnSale {
  me { id email }
  tickets(first: 5, status: AVAILABLE) {
    edges { node { id title price status version } }
    pageInfo { hasNextPage endCursor }
  }
}
`;

createRoot(document.getElementById('graphiql')!).render(
  <StrictMode>
    <GraphiQL fetcher={fetcher} defaultQuery={defaultQuery} />
  </StrictMode>,
);
