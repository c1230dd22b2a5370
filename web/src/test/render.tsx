import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { Provider, type Client } from 'urql';
import { AuthProvider } from '../auth';
import { LiveStateProvider } from '../graphql/client';

/**
 * Renders `element` at `path` (a route pattern) visited as `url`, with the client and the auth
 * context; `reconnect()` tells the page the WebSocket connected again (as after an outage).
 */
export function renderPage(client: Client, element: ReactElement, { path = '/', url = '/' }: { path?: string; url?: string } = {}) {
  const ui = (epoch: number) => (
    <Provider value={client}>
      <LiveStateProvider value={{ epoch, status: 'connected' }}>
        <AuthProvider>
          <MemoryRouter initialEntries={[url]}>
            <Routes>
              <Route path={path} element={element} />
              <Route path="*" element={<p>elsewhere</p>} />
            </Routes>
          </MemoryRouter>
        </AuthProvider>
      </LiveStateProvider>
    </Provider>
  );
  let epoch = 0;
  const result = render(ui(epoch));
  return { ...result, reconnect: () => result.rerender(ui(++epoch)) };
}
