import { createContext, useCallback, useContext, useMemo, type ReactNode } from 'react';
import { useMutation, useQuery } from 'urql';
import { MeQuery, SignOutMutation } from './graphql/operations';
import { useOnReconnect, useResetClient } from './graphql/client';

export interface Me {
  id: string;
  email: string;
}

export interface AuthState {
  /** undefined while loading, null when signed out. */
  me: Me | null | undefined;
  /** After signUp/signIn: the cookie is set, start afresh as that user. */
  signedIn: () => void;
  signOut: () => Promise<void>;
}

const AuthContext = createContext<AuthState>({
  me: undefined,
  signedIn: () => {},
  signOut: async () => {},
});

export function useAuth(): AuthState {
  return useContext(AuthContext);
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [result, refetch] = useQuery({ query: MeQuery });
  const [, signOutMutation] = useMutation(SignOutMutation);
  const reset = useResetClient();
  useOnReconnect(() => refetch({ requestPolicy: 'network-only' }));

  const signOut = useCallback(async () => {
    await signOutMutation({});
    reset();
  }, [signOutMutation, reset]);

  // While the first answer is pending `me` is undefined; a failed `me` counts as signed out.
  const me = result.data ? (result.data.me ?? null) : result.error ? null : undefined;
  const value = useMemo<AuthState>(() => ({ me, signedIn: reset, signOut }), [me, reset, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/** Same-app path to come back to after signing in (never another origin). */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//')) return '/';
  return next;
}
