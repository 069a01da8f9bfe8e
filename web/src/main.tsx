import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode, useMemo } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import { ApiClient } from './lib/api-client.ts';
import { ApiProvider, LiveProvider } from './lib/api-context.tsx';
import { AuthGate, createUserManager, useAuth } from './lib/auth.tsx';
import { loadRuntimeConfig, type RuntimeConfig } from './lib/runtime-config.ts';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: true, staleTime: 2000 } },
});

function SignedIn({ config }: { config: RuntimeConfig }) {
  const { user } = useAuth();
  const token = user?.accessToken ?? null;
  const client = useMemo(() => new ApiClient(config.apiUrl, () => token), [config.apiUrl, token]);
  const live = useMemo(
    () => (config.liveUrl === undefined || token === null ? null : { url: config.liveUrl, token }),
    [config.liveUrl, token],
  );
  return (
    <ApiProvider client={client}>
      <LiveProvider value={live}>
        <App />
      </LiveProvider>
    </ApiProvider>
  );
}

async function boot(): Promise<void> {
  const root = createRoot(document.getElementById('root') ?? document.body);
  let config: RuntimeConfig;
  try {
    config = await loadRuntimeConfig();
  } catch (error) {
    root.render(
      <main className="center">
        <h1>The portal is not configured</h1>
        <p role="alert">{error instanceof Error ? error.message : 'config.json could not be read'}</p>
      </main>,
    );
    return;
  }
  const manager = createUserManager(config, window.location.origin);
  root.render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <AuthGate manager={manager}>
          <SignedIn config={config} />
        </AuthGate>
      </QueryClientProvider>
    </StrictMode>,
  );
}

void boot();
