import { InMemoryWebStorage, type User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import { createContext, type ReactNode, useContext, useEffect, useMemo, useState } from 'react';
import type { RuntimeConfig } from './runtime-config.ts';

/**
 * Sign-in with OpenID Connect authorization code + PKCE (oidc-client-ts), against Cognito when
 * deployed and the local issuer under `npm start`. Tokens live in memory only (no localStorage or
 * sessionStorage): a reload signs in again through the issuer's session, and the code and state
 * are removed from the address bar right after the exchange.
 */

/** The signed-in person as the portal shows them (from the access token; the API decides access). */
export interface SignedInUser {
  readonly username: string;
  readonly groups: readonly string[];
  readonly accessToken: string;
}

export const CALLBACK_PATH = '/callback';

/** Creates the user manager for a config (memory-only stores). */
export function createUserManager(config: RuntimeConfig, origin: string): UserManager {
  const memory = new WebStorageStateStore({ store: new InMemoryWebStorage() });
  return new UserManager({
    authority: config.authority,
    client_id: config.clientId,
    redirect_uri: `${origin}${CALLBACK_PATH}`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: 'code',
    scope: 'openid email profile',
    userStore: memory,
    // The request state must survive the redirect round trip within this tab only.
    stateStore: new WebStorageStateStore({ store: window.sessionStorage }),
    automaticSilentRenew: true,
    loadUserInfo: false,
  });
}

function decodePayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  try {
    const text = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The username and groups of an access token (display only: the API verifies the token). */
export function toSignedInUser(user: User): SignedInUser {
  const claims = decodePayload(user.access_token);
  const username =
    (typeof claims.username === 'string' && claims.username) ||
    (typeof claims['cognito:username'] === 'string' && claims['cognito:username']) ||
    user.profile.sub;
  const rawGroups = claims['cognito:groups'];
  const groups = Array.isArray(rawGroups) ? rawGroups.filter((g): g is string => typeof g === 'string') : [];
  return { username, groups, accessToken: user.access_token };
}

interface AuthContextValue {
  readonly user: SignedInUser | null;
  signOut(): Promise<void>;
}

const AuthContext = createContext<AuthContextValue | null>(null);

/** The signed-in user and sign-out; only inside {@link AuthGate}. */
export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error('useAuth outside AuthGate');
  return value;
}

/** Test helper and building block: provides a fixed auth value. */
export function AuthContextProvider({ value, children }: { value: AuthContextValue; children: ReactNode }) {
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

/**
 * Completes a sign-in callback or starts a sign-in, once per manager: a code can be exchanged only
 * once, and React may run an effect twice.
 */
const signIns = new WeakMap<UserManager, Promise<User | null>>();
function signInOnce(manager: UserManager): Promise<User | null> {
  let pending = signIns.get(manager);
  if (pending === undefined) {
    pending = (async () => {
      if (window.location.pathname === CALLBACK_PATH) {
        const user = await manager.signinRedirectCallback();
        const target = typeof user.state === 'string' && user.state.startsWith('/') ? user.state : '/';
        // The code and state leave the address bar (and the history) at once.
        window.history.replaceState(null, '', target);
        return user;
      }
      const existing = await manager.getUser();
      if (existing !== null && !existing.expired) return existing;
      await manager.signinRedirect({ state: `${window.location.pathname}${window.location.search}` });
      return null;
    })();
    signIns.set(manager, pending);
  }
  return pending;
}

type GateState = { kind: 'loading' } | { kind: 'error'; message: string } | { kind: 'ready'; user: User };

/** Completes a sign-in callback or starts one, then renders the app for the signed-in user. */
export function AuthGate({ manager, children }: { manager: UserManager; children: ReactNode }) {
  const [state, setState] = useState<GateState>({ kind: 'loading' });

  useEffect(() => {
    let cancelled = false;
    signInOnce(manager)
      .then((user) => {
        if (!cancelled && user !== null) setState({ kind: 'ready', user });
      })
      .catch((error: unknown) => {
        if (!cancelled) {
          setState({ kind: 'error', message: error instanceof Error ? error.message : 'sign-in failed' });
        }
      });
    const onLoaded = (user: User) => setState({ kind: 'ready', user });
    manager.events.addUserLoaded(onLoaded);
    return () => {
      cancelled = true;
      manager.events.removeUserLoaded(onLoaded);
    };
  }, [manager]);

  const value = useMemo<AuthContextValue>(
    () => ({
      user: state.kind === 'ready' ? toSignedInUser(state.user) : null,
      signOut: async () => {
        const current = await manager.getUser();
        await manager.removeUser();
        await manager.signoutRedirect({
          ...(current?.id_token === undefined ? {} : { id_token_hint: current.id_token }),
          extraQueryParams: {
            client_id: manager.settings.client_id,
            logout_uri: manager.settings.post_logout_redirect_uri ?? window.location.origin,
          },
        });
      },
    }),
    [state, manager],
  );

  if (state.kind === 'loading') return <p className="center">Signing in…</p>;
  if (state.kind === 'error') {
    return (
      <main className="center">
        <h1>Sign-in failed</h1>
        <p role="alert">{state.message}</p>
        <p>
          <a href="/">Try again</a>
        </p>
      </main>
    );
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
