import { useEffect, useRef, useState, type ReactNode } from 'react';
import { NavLink, Link, useLocation, useNavigate } from 'react-router';
import { useAuth } from '../auth';
import { useLive } from '../graphql/client';
import { buttonClass } from './ui';

const navCls = ({ isActive }: { isActive: boolean }) =>
  `rounded-md px-2 py-1 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 ${
    isActive ? 'bg-indigo-50 text-indigo-700' : 'text-slate-700 hover:bg-slate-100'
  }`;

export function Layout({ children }: { children: ReactNode }) {
  const { me, signOut } = useAuth();
  const { status } = useLive();
  const navigate = useNavigate();
  const [signingOut, setSigningOut] = useState(false);
  const { pathname } = useLocation();
  const mainRef = useRef<HTMLElement>(null);
  const firstPath = useRef(pathname);
  // After a client-side navigation, move focus to the new page (as a full page load would), so
  // keyboard and screen-reader users start reading at its content.
  useEffect(() => {
    if (pathname !== firstPath.current) {
      firstPath.current = '';
      mainRef.current?.focus({ preventScroll: false });
    }
  }, [pathname]);

  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-4xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
          <Link to="/" className="text-lg font-bold text-indigo-700 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
            <svg aria-hidden="true" viewBox="0 0 24 24" className="mr-1 inline h-5 w-5 -translate-y-px fill-current">
              <path d="M3 7a2 2 0 0 1 2-2h14a2 2 0 0 1 2 2v2a2 2 0 0 0 0 4v2a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-2a2 2 0 0 0 0-4V7zm6 0v2h2V7H9zm0 4v2h2v-2H9zm0 4v2h2v-2H9z" />
            </svg>
            Tickets
          </Link>
          <nav aria-label="Main" className="flex flex-wrap items-center gap-1">
            <NavLink to="/" end className={navCls}>
              On sale
            </NavLink>
            <NavLink to="/events" className={navCls}>
              Events
            </NavLink>
            <NavLink to="/sell" className={navCls}>
              Sell
            </NavLink>
            {me ? (
              <>
                <NavLink to="/my/tickets" className={navCls}>
                  My tickets
                </NavLink>
                <NavLink to="/orders" end className={navCls}>
                  My orders
                </NavLink>
              </>
            ) : null}
            <a href="/graphql" className={navCls({ isActive: false })}>
              GraphiQL
            </a>
          </nav>
          <div className="ml-auto flex items-center gap-2 text-sm">
            {me === undefined ? null : me ? (
              <>
                <span className="max-w-[11rem] truncate text-slate-700" data-testid="signed-in-as" title={me.email}>
                  Signed in as <strong>{me.email}</strong>
                </span>
                <button
                  type="button"
                  className={buttonClass('secondary')}
                  disabled={signingOut}
                  onClick={async () => {
                    setSigningOut(true);
                    try {
                      await signOut();
                      navigate('/');
                    } finally {
                      setSigningOut(false);
                    }
                  }}
                >
                  Sign out
                </button>
              </>
            ) : (
              <>
                <Link to="/signin" className={buttonClass('secondary')}>
                  Sign in
                </Link>
                <Link to="/signup" className={buttonClass('primary')}>
                  Sign up
                </Link>
              </>
            )}
          </div>
        </div>
        {status === 'reconnecting' ? (
          <div role="status" className="bg-amber-100 px-4 py-1 text-center text-sm text-amber-900">
            Live updates interrupted; reconnecting…
          </div>
        ) : null}
      </header>
      <main id="main" ref={mainRef} tabIndex={-1} className="mx-auto max-w-4xl px-4 py-6 focus:outline-none">
        {children}
      </main>
    </div>
  );
}
