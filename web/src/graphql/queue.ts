import { useCallback, useEffect, useRef, useState } from 'react';
import { useClient } from 'urql';
import type { QueuePlaceFieldsFragment } from '../gql/graphql';
import { toApiError, type ApiError } from '../lib/errors';
import { newerPlace } from '../lib/queue';
import { useOnReconnect } from './client';
import { useSubscriptionEvents } from './hooks';
import { QueuePlaceQuery, QueueUpdatedSubscription } from './operations';

interface Read {
  eventId: string;
  place: QueuePlaceFieldsFragment | null;
  error: ApiError | null;
}

/**
 * The viewer's place in an event's queue: `queuePlace` read from the server, then, with `live`,
 * every queueUpdated push until it is EXPIRED (the server then ends the subscription). Whatever
 * was pushed while the WebSocket was down is lost, so a reconnect reads the place again. `see`
 * adds a snapshot known otherwise (joinQueue's answer); the most advanced snapshot wins
 * (newerPlace).
 *
 * The read is sent from an effect, not with useQuery: useQuery subscribes while rendering, and a
 * page mounted as another one with the same query unmounts gets that page's last answer first (a
 * place still WAITING on the queue's page, say, after it EXPIRED), which must not decide where the
 * event page sends the viewer.
 */
export function useQueuePlace(
  eventId: string,
  { enabled, live = false, initial = null }: { enabled: boolean; live?: boolean; initial?: QueuePlaceFieldsFragment | null },
) {
  const client = useClient();
  const [read, setRead] = useState<Read | null>(null);
  const [seen, setSeen] = useState<QueuePlaceFieldsFragment | null>(initial?.eventId === eventId ? initial : null);
  const see = useCallback((p: QueuePlaceFieldsFragment) => setSeen((s) => newerPlace(s?.eventId === p.eventId ? s : null, p)), []);

  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const reread = useCallback(async () => {
    if (!enabled) return;
    const r = await client.query(QueuePlaceQuery, { eventId }, { requestPolicy: 'network-only' }).toPromise();
    if (!mounted.current) return;
    if (r.data) setRead({ eventId, place: r.data.queuePlace ?? null, error: null });
    else setRead((prev) => ({ eventId, place: prev?.eventId === eventId ? prev.place : null, error: toApiError(r.error) }));
  }, [client, eventId, enabled]);
  useEffect(() => {
    void reread();
  }, [reread]);
  useOnReconnect(() => void reread());

  const current = read?.eventId === eventId ? read : null;
  const place = enabled ? newerPlace(current?.place, seen?.eventId === eventId ? seen : null) : null;
  const subscribed = enabled && live && !!place && place.status !== 'EXPIRED';
  useSubscriptionEvents(
    QueueUpdatedSubscription,
    { eventId },
    (d) => {
      if (d.queueUpdated.eventId === eventId) see(d.queueUpdated);
    },
    !subscribed,
  );

  return {
    place,
    /** True until the first answer (when there is nothing else to show). */
    loading: enabled && !current && !place,
    error: current?.error ?? null,
    see,
    reread,
  };
}
