import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK, SignJWT } from 'jose';

/**
 * A local OIDC-like issuer shaped like a Cognito user pool: an RSA key (generated at start, or
 * kept in a PEM file so tokens survive restarts), its JWKS, and ID/access tokens with Cognito's
 * claims (`cognito:username`, `cognito:groups`, `aud` or `client_id`, `token_use`). The local
 * gateway verifies these tokens exactly as the HTTP API JWT authorizer verifies Cognito's.
 */

/** Default issuer URL (any https URL works; only equality with the gateway's setting matters). */
export const DEFAULT_LOCAL_ISSUER_URL = 'https://issuer.localhost/pve-inventory';

/** Default app client id (the audience of ID tokens, `client_id` of access tokens). */
export const DEFAULT_LOCAL_CLIENT_ID = 'pve-inventory-local';

/** Options of {@link createLocalIssuer}. */
export interface LocalIssuerOptions {
  /** `iss` of every token. @default DEFAULT_LOCAL_ISSUER_URL */
  readonly issuerUrl?: string;
  /** App client id. @default DEFAULT_LOCAL_CLIENT_ID */
  readonly clientId?: string;
  /** PKCS#8 PEM file holding the private key: loaded when present, created when absent. Omit for a fresh key. */
  readonly keyFile?: string;
  /** Clock in milliseconds (tests). @default Date.now */
  readonly now?: () => number;
}

/** Options of {@link LocalIssuer.issueToken}. */
export interface IssueTokenOptions {
  /** Cognito groups (`cognito:groups`), e.g. `['admins']`. */
  readonly groups?: readonly string[];
  /** Lifetime in seconds from now; negative gives an already expired token. @default 3600 */
  readonly expiresIn?: number;
  /** Audience (ID token `aud`, access token `client_id`). @default the issuer's client id */
  readonly audience?: string;
  /** `id` (default, has `aud`) or `access` (has `client_id`, no `aud`, like Cognito's). */
  readonly tokenUse?: 'id' | 'access';
  /** `nbf` in seconds from now (positive: not yet valid). Omitted by default, like Cognito. */
  readonly notBeforeIn?: number;
  /** Extra claims (override the defaults). */
  readonly extraClaims?: Readonly<Record<string, unknown>>;
}

/** A running local issuer. */
export interface LocalIssuer {
  readonly issuerUrl: string;
  readonly clientId: string;
  /** Key id of the signing key (its JWK thumbprint). */
  readonly keyId: string;
  /** The public keys, as `/.well-known/jwks.json` would serve them. */
  jwks(): JSONWebKeySet;
  /** Signs a token for a user. */
  issueToken(username: string, options?: IssueTokenOptions): Promise<string>;
  /** An ID and an access token for a user (same groups and lifetime). */
  issueTokens(
    username: string,
    options?: Omit<IssueTokenOptions, 'tokenUse'>,
  ): Promise<{ idToken: string; accessToken: string }>;
}

/** The key file exists but does not hold an RSA private key. */
export class IssuerKeyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IssuerKeyError';
  }
}

async function loadOrCreateKey(keyFile: string | undefined): Promise<KeyObject> {
  if (keyFile === undefined) return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let pem: string | null = null;
  try {
    pem = await readFile(keyFile, 'utf8');
  } catch (error) {
    if (!(error instanceof Error && 'code' in error && error.code === 'ENOENT')) throw error;
  }
  if (pem === null) {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    await mkdir(dirname(keyFile), { recursive: true });
    await writeFile(keyFile, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    return key;
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa') throw new IssuerKeyError(`${keyFile}: not an RSA key`);
    return key;
  } catch (error) {
    if (error instanceof IssuerKeyError) throw error;
    throw new IssuerKeyError(`${keyFile}: not a PEM private key`, { cause: error });
  }
}

/** A stable, UUID-shaped `sub` per username (Cognito subs are UUIDs). */
function subjectFor(username: string): string {
  const hex = createHash('sha256').update(`sub:${username}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Starts a local issuer (generates or loads its key). */
export async function createLocalIssuer(options: LocalIssuerOptions = {}): Promise<LocalIssuer> {
  const issuerUrl = options.issuerUrl ?? DEFAULT_LOCAL_ISSUER_URL;
  const clientId = options.clientId ?? DEFAULT_LOCAL_CLIENT_ID;
  const now = options.now ?? Date.now;
  const privateKey = await loadOrCreateKey(options.keyFile);
  const publicJwk: JWK = createPublicKey(privateKey).export({ format: 'jwk' });
  const keyId = await calculateJwkThumbprint(publicJwk);
  const jwk: JWK = { ...publicJwk, kid: keyId, alg: 'RS256', use: 'sig' };

  const issueToken = async (username: string, tokenOptions: IssueTokenOptions = {}): Promise<string> => {
    const nowSeconds = Math.floor(now() / 1000);
    const audience = tokenOptions.audience ?? clientId;
    const tokenUse = tokenOptions.tokenUse ?? 'id';
    const claims: Record<string, unknown> = {
      sub: subjectFor(username),
      'cognito:groups': [...(tokenOptions.groups ?? [])],
      token_use: tokenUse,
      auth_time: nowSeconds,
      iss: issuerUrl,
      iat: nowSeconds,
      exp: nowSeconds + (tokenOptions.expiresIn ?? 3600),
      jti: randomUUID(),
      origin_jti: randomUUID(),
    };
    if (tokenUse === 'id') {
      claims.aud = audience;
      claims['cognito:username'] = username;
      claims.event_id = randomUUID();
    } else {
      claims.client_id = audience;
      claims.username = username;
      claims.scope = 'aws.cognito.signin.user.admin';
    }
    if (tokenOptions.notBeforeIn !== undefined) claims.nbf = nowSeconds + tokenOptions.notBeforeIn;
    Object.assign(claims, tokenOptions.extraClaims);
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: keyId, typ: 'JWT' }).sign(privateKey);
  };

  return {
    issuerUrl,
    clientId,
    keyId,
    jwks: () => ({ keys: [{ ...jwk }] }),
    issueToken,
    issueTokens: async (username, tokenOptions = {}) => ({
      idToken: await issueToken(username, { ...tokenOptions, tokenUse: 'id' }),
      accessToken: await issueToken(username, { ...tokenOptions, tokenUse: 'access' }),
    }),
  };
}
