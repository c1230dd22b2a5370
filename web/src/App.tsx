import { Route, Routes, Link } from 'react-router';
import { Layout } from './components/Layout';
import { RequireAuth } from './components/RequireAuth';
import { PageTitle } from './components/ui';
import { AuthPage } from './pages/AuthPage';
import { CreateEventPage } from './pages/CreateEventPage';
import { EventPage } from './pages/EventPage';
import { EventsPage } from './pages/EventsPage';
import { LandingPage } from './pages/LandingPage';
import { MyOrdersPage } from './pages/MyOrdersPage';
import { MyTicketsPage } from './pages/MyTicketsPage';
import { OrderPage } from './pages/OrderPage';
import { QueuePage } from './pages/QueuePage';
import { SellPage } from './pages/SellPage';
import { TicketPage } from './pages/TicketPage';
import { useEffect } from 'react';
import { useLocation } from 'react-router';

const TITLES: [RegExp, string][] = [
  [/^\/$/, 'On sale'],
  [/^\/signin/, 'Sign in'],
  [/^\/signup/, 'Sign up'],
  [/^\/sell/, 'Sell a ticket'],
  [/^\/events\/new$/, 'Create an event'],
  [/^\/events\/[^/]+\/queue$/, 'Queue'],
  [/^\/events\/.+/, 'Event'],
  [/^\/events/, 'Events'],
  [/^\/tickets\//, 'Ticket'],
  [/^\/orders\/.+/, 'Order'],
  [/^\/orders/, 'My orders'],
  [/^\/my\/tickets/, 'My tickets'],
];

/** Names each page in the tab title and moves focus to the new page for keyboard and screen-reader users. */
function RouteAnnouncer() {
  const { pathname } = useLocation();
  useEffect(() => {
    const t = TITLES.find(([re]) => re.test(pathname))?.[1] ?? 'Not found';
    document.title = `${t} · Tickets`;
  }, [pathname]);
  return null;
}

export function App() {
  return (
    <Layout>
      <RouteAnnouncer />
      <Routes>
        <Route path="/" element={<LandingPage />} />
        <Route path="/signin" element={<AuthPage key="signin" mode="signin" />} />
        <Route path="/signup" element={<AuthPage key="signup" mode="signup" />} />
        <Route
          path="/sell"
          element={
            <RequireAuth>
              <SellPage />
            </RequireAuth>
          }
        />
        <Route path="/events" element={<EventsPage />} />
        <Route
          path="/events/new"
          element={
            <RequireAuth>
              <CreateEventPage />
            </RequireAuth>
          }
        />
        <Route path="/events/:id" element={<EventPage />} />
        <Route
          path="/events/:id/queue"
          element={
            <RequireAuth>
              <QueuePage />
            </RequireAuth>
          }
        />
        <Route path="/tickets/:id" element={<TicketPage />} />
        <Route
          path="/orders"
          element={
            <RequireAuth>
              <MyOrdersPage />
            </RequireAuth>
          }
        />
        <Route
          path="/orders/:id"
          element={
            <RequireAuth>
              <OrderPage />
            </RequireAuth>
          }
        />
        <Route
          path="/my/tickets"
          element={
            <RequireAuth>
              <MyTicketsPage />
            </RequireAuth>
          }
        />
        <Route
          path="*"
          element={
            <div>
              <PageTitle>Page not found</PageTitle>
              <Link to="/" className="text-indigo-700 underline">
                See what is on sale
              </Link>
            </div>
          }
        />
      </Routes>
    </Layout>
  );
}
