import type { ReactElement } from 'react';
import { render } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router';
import { Provider, type Client } from 'urql';
import { AuthProvider } from '../auth';

/** Renders `element` at `path` (a route pattern) visited as `url`, with the client and the auth context. */
export function renderPage(client: Client, element: ReactElement, { path = '/', url = '/' }: { path?: string; url?: string } = {}) {
  return render(
    <Provider value={client}>
      <AuthProvider>
        <MemoryRouter initialEntries={[url]}>
          <Routes>
            <Route path={path} element={element} />
            <Route path="*" element={<p>elsewhere</p>} />
          </Routes>
        </MemoryRouter>
      </AuthProvider>
    </Provider>,
  );
}
