import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { GraphQLProvider } from './graphql/client';
import { AuthProvider } from './auth';
import { App } from './App';
import './index.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <GraphQLProvider>
        <AuthProvider>
          <App />
        </AuthProvider>
      </GraphQLProvider>
    </BrowserRouter>
  </StrictMode>,
);
