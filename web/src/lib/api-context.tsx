import { createContext, type ReactNode, useContext, useEffect, useState } from 'react';
import type { ApiClient } from './api-client.ts';

const ApiContext = createContext<ApiClient | null>(null);

/** Provides the one API client. */
export function ApiProvider({ client, children }: { client: ApiClient; children: ReactNode }) {
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}

/** The API client of the signed-in session. */
export function useApi(): ApiClient {
  const client = useContext(ApiContext);
  if (client === null) throw new Error('useApi outside ApiProvider');
  return client;
}

/** Where the live updates are and the token to open them with; null: the portal polls. */
export interface LiveSettings {
  /** `ws://…/ws` locally, `wss://…/prod` deployed (runtime config `liveUrl`) */
  readonly url: string;
  /** the in-memory access token (changes when the session renews it) */
  readonly token: string;
}

const LiveContext = createContext<LiveSettings | null>(null);

/** Provides the live endpoint; without it (or with null) the VM list only polls. */
export function LiveProvider({ value, children }: { value: LiveSettings | null; children: ReactNode }) {
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

/** The live endpoint of the session, or null. */
export function useLiveSettings(): LiveSettings | null {
  return useContext(LiveContext);
}

/** The current time, updated every `intervalMs` (for "updated 20 s ago"). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
