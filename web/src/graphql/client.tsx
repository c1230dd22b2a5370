// The one GraphQL client of the app: urql over HTTP for queries (as persisted queries) and
// mutations, graphql-ws for subscriptions, both authenticated by the server's HttpOnly `session` cookie (same origin), so
// the UI never holds a token.
//
// Live data and reconnects: the WebSocket is opened eagerly and retried forever with randomised
// exponential backoff. Whatever was pushed while it was down is lost, so every connect after the
// first bumps `epoch`; pages call useOnReconnect() to re-run their queries network-only.
//
// Signing in or out changes who the cookie belongs to, but an open WebSocket keeps the identity it
// was opened with, and the cache holds the previous user's data: resetClient() replaces both.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { Client, cacheExchange, fetchExchange, subscriptionExchange, Provider } from 'urql';
import { persistedExchange } from '@urql/exchange-persisted';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { clockFetch } from '../lib/serverClock';

export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting';

export interface LiveState {
  /** Connects after the first one; pages refetch when it changes. */
  epoch: number;
  status: ConnectionStatus;
}

const LiveContext = createContext<LiveState>({ epoch: 0, status: 'connected' });
const ResetContext = createContext<() => void>(() => {});

/** Provides the live state; GraphQLProvider does it for the app, tests do it by hand. */
export const LiveStateProvider = LiveContext.Provider;

export function useLive(): LiveState {
  return useContext(LiveContext);
}

/** Replaces the client (new cache, new WebSocket): call after signing in or out. */
export function useResetClient(): () => void {
  return useContext(ResetContext);
}

/** Runs `refetch` whenever the WebSocket reconnects after the page was mounted. */
export function useOnReconnect(refetch: () => void): void {
  const { epoch } = useLive();
  const initial = useRef(epoch);
  const latest = useRef(refetch);
  latest.current = refetch;
  useEffect(() => {
    if (epoch !== initial.current) latest.current();
  }, [epoch]);
}

export function wsUrl(loc: Location = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/graphql/ws`;
}

/** Waits 1 s, 2 s, 4 s … up to 30 s, each randomised by ±50 %, so clients do not stampede. */
export function backoffMs(retries: number): number {
  const base = Math.min(30_000, 1000 * 2 ** Math.min(retries, 5));
  return Math.round(base * (0.5 + Math.random()));
}

interface Clients {
  urql: Client;
  ws: WsClient;
}

function makeClients(handlers: { onStatus: (s: ConnectionStatus) => void; onReconnect: () => void }): Clients {
  let connects = 0;
  let socket: WebSocket | null = null;
  let pongTimer: ReturnType<typeof setTimeout> | undefined;
  const ws = createWsClient({
    url: wsUrl(),
    lazy: false,
    retryAttempts: Number.MAX_SAFE_INTEGER,
    shouldRetry: () => true,
    retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, backoffMs(retries))),
    keepAlive: 10_000,
    onNonLazyError: () => {},
    on: {
      connecting: () => handlers.onStatus(connects === 0 ? 'connecting' : 'reconnecting'),
      connected: (s) => {
        socket = s as WebSocket;
        connects += 1;
        handlers.onStatus('connected');
        if (connects > 1) handlers.onReconnect();
      },
      closed: () => {
        socket = null;
        clearTimeout(pongTimer);
        if (connects > 0) handlers.onStatus('reconnecting');
      },
      // A socket that silently died (sleeping laptop, dropped NAT mapping) never closes by
      // itself: close it when a ping gets no pong within 5 s, and the retry logic takes over.
      ping: (received) => {
        if (received) return;
        clearTimeout(pongTimer);
        pongTimer = setTimeout(() => {
          if (socket && socket.readyState === WebSocket.OPEN) socket.close(4408, 'Request Timeout');
        }, 5_000);
      },
      pong: (received) => {
        if (received) clearTimeout(pongTimer);
      },
    },
  });

  const urql = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    fetch: clockFetch,
    fetchOptions: { credentials: 'same-origin' },
    exchanges: [
      cacheExchange,
      // Queries go as automatic persisted queries (the hash alone once the server knows it). Over
      // POST: a live page must never get a cached answer, least of all when it refetches what it
      // missed while offline (GET answers may be cached for 5 s).
      persistedExchange({ preferGetForPersistedQueries: false }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query || '' };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { urql, ws };
}

export function GraphQLProvider({ children }: { children: ReactNode }) {
  const [generation, setGeneration] = useState(0);
  const [clients, setClients] = useState<Clients | null>(null);
  const [live, setLive] = useState<LiveState>({ epoch: 0, status: 'connecting' });

  useEffect(() => {
    const c = makeClients({
      onStatus: (status) => setLive((l) => (l.status === status ? l : { ...l, status })),
      onReconnect: () => setLive((l) => ({ ...l, epoch: l.epoch + 1 })),
    });
    setClients(c);
    return () => {
      void c.ws.dispose();
    };
  }, [generation]);

  const reset = useCallback(() => setGeneration((g) => g + 1), []);

  if (!clients) return null;
  return (
    <Provider value={clients.urql}>
      <ResetContext.Provider value={reset}>
        <LiveContext.Provider value={live}>{children}</LiveContext.Provider>
      </ResetContext.Provider>
    </Provider>
  );
}
