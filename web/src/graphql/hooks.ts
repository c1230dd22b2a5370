import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient, useQuery, type AnyVariables, type TypedDocumentNode } from 'urql';
import { toApiError, type ApiError } from '../lib/errors';
import { useOnReconnect } from './client';

/**
 * Calls `onData` for every event of a subscription while mounted (urql's own useSubscription
 * folds events into state, which loses events that arrive within one render).
 */
export function useSubscriptionEvents<D, V extends AnyVariables>(
  query: TypedDocumentNode<D, V>,
  variables: V,
  onData: (data: D) => void,
  pause = false,
): void {
  const client = useClient();
  const latest = useRef(onData);
  latest.current = onData;
  const key = JSON.stringify(variables ?? {});
  useEffect(() => {
    if (pause) return;
    const sub = client.subscription(query, JSON.parse(key) as V).subscribe((r) => {
      if (r.data) latest.current(r.data);
    });
    return () => sub.unsubscribe();
  }, [client, query, key, pause]);
}

export interface Connection<N> {
  edges: ReadonlyArray<{ cursor: string; node: N }>;
  pageInfo: { hasNextPage: boolean; endCursor?: string | null };
}

export const PAGE_SIZE = 20;

/**
 * A list read page by page ("Load more" with the `after` cursor). The first page is a regular
 * query; further pages are appended. On a WebSocket reconnect every loaded page is fetched again,
 * network-only, since events may have been missed meanwhile.
 */
export function usePagedQuery<N extends { id: string }, D, V extends { first: number; after?: string | null }>(
  query: TypedDocumentNode<D, V>,
  variables: Omit<V, 'first' | 'after'>,
  pick: (data: D) => Connection<N>,
  pause = false,
) {
  const client = useClient();
  const key = JSON.stringify(variables);
  const firstVars = { ...variables, first: PAGE_SIZE } as unknown as V;
  const [first, reexecute] = useQuery<D, V>({ query, variables: firstVars, pause } as never);
  const [more, setMore] = useState<{ key: string; pages: { after: string; conn: Connection<N> }[] }>({ key, pages: [] });
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<ApiError | null>(null);
  const pages = more.key === key ? more.pages : [];
  const pickRef = useRef(pick);
  pickRef.current = pick;

  const fetchPage = useCallback(
    async (after: string) => {
      const vars = { ...(JSON.parse(key) as object), first: PAGE_SIZE, after } as unknown as V;
      const res = await client.query(query, vars, { requestPolicy: 'network-only' }).toPromise();
      if (res.error || !res.data) throw toApiError(res.error) ?? new Error('no data');
      return pickRef.current(res.data);
    },
    [client, query, key],
  );

  const firstConn = first.data ? pick(first.data) : undefined;
  const lastConn = pages.length ? pages[pages.length - 1].conn : firstConn;

  const loadMore = useCallback(async () => {
    const after = lastConn?.pageInfo.endCursor;
    if (!after || loadingMore) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const conn = await fetchPage(after);
      setMore((m) => ({ key, pages: [...(m.key === key ? m.pages : []), { after, conn }] }));
    } catch (e) {
      setMoreError((e as ApiError).message ? (e as ApiError) : { code: 'NETWORK', message: String(e), fields: {} });
    } finally {
      setLoadingMore(false);
    }
  }, [lastConn, loadingMore, fetchPage, key]);

  const refetchAll = useCallback(() => {
    reexecute({ requestPolicy: 'network-only' });
    const afters = pages.map((p) => p.after);
    if (!afters.length) return;
    void Promise.all(afters.map((a) => fetchPage(a).then((conn) => ({ after: a, conn })))).then(
      (fresh) => setMore({ key, pages: fresh }),
      () => {},
    );
  }, [reexecute, pages, fetchPage, key]);

  useOnReconnect(refetchAll);

  // Pages fetched at different times may overlap (a refetched first page can reach into the
  // second when items left the list meanwhile): each item is shown once, where it first appears.
  const items: N[] = [];
  const seen = new Set<string>();
  for (const c of [firstConn, ...pages.map((p) => p.conn)]) {
    for (const e of c?.edges ?? []) {
      if (seen.has(e.node.id)) continue;
      seen.add(e.node.id);
      items.push(e.node);
    }
  }

  return {
    items,
    /** The first page's answer, for what a page shows besides the list. */
    data: first.data,
    /** True until the first page is there. */
    loading: !first.data && first.fetching,
    error: first.data ? null : toApiError(first.error),
    hasMore: !!lastConn?.pageInfo.hasNextPage,
    loadMore,
    loadingMore,
    moreError,
    refetchAll,
  };
}
