import type { ReactNode } from 'react';
import { Navigate, useLocation } from 'react-router';
import { useAuth } from '../auth';
import { Loading } from './ui';

/** Sends signed-out visitors to sign in, and back here afterwards. */
export function RequireAuth({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  const loc = useLocation();
  if (me === undefined) return <Loading />;
  if (me === null) {
    const next = `${loc.pathname}${loc.search}`;
    return <Navigate to={`/signin?next=${encodeURIComponent(next)}`} replace />;
  }
  return <>{children}</>;
}
