import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  FeaturePlan,
  Mfa,
  OAuthScope,
  UserPool,
  type UserPoolClient,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

/** Properties of {@link ApiAuth}. */
export interface ApiAuthProps {
  /** An external OIDC issuer and its audiences. @default - a Cognito user pool created here */
  readonly oidc?: { readonly issuer: string; readonly audience: readonly string[] };
  /** Group names created in the user pool (ignored with `oidc`). */
  readonly adminGroup: string;
  readonly teacherGroup: string;
  /** Frontend origins: the app client gets `<origin>/callback` as callback and `<origin>/` as logout URL. */
  readonly frontendOrigins: readonly string[];
  /** Cognito hosted-UI (managed login) domain prefix. @default - no domain */
  readonly hostedUiDomainPrefix?: string;
}

/**
 * Login for the HTTP API: a Cognito user pool (strong password policy, optional TOTP MFA, no self
 * sign-up, groups for admins and teachers, a public app client using the authorization code grant
 * with PKCE) or any external OIDC issuer, and the JWT authorizer that checks its tokens.
 */
export class ApiAuth extends Construct {
  /** The JWT authorizer of every `jwt` route. */
  public readonly authorizer: HttpJwtAuthorizer;
  /** `iss` of the accepted tokens. */
  public readonly issuer: string;
  /** Accepted audiences (`aud`, or `client_id` of access tokens). */
  public readonly audience: readonly string[];
  /** The user pool, unless an external issuer is configured. */
  public readonly userPool?: UserPool;
  /** The frontend's app client, unless an external issuer is configured. */
  public readonly userPoolClient?: UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiAuthProps) {
    super(scope, id);
    if (props.oidc) {
      this.issuer = props.oidc.issuer;
      this.audience = [...props.oidc.audience];
    } else {
      assertCallbackUrls(props.frontendOrigins);
      const pool = new UserPool(this, 'UserPool', {
        selfSignUpEnabled: false,
        signInAliases: { username: true, email: true },
        signInCaseSensitive: false,
        passwordPolicy: {
          minLength: 14,
          requireLowercase: true,
          requireUppercase: true,
          requireDigits: true,
          requireSymbols: true,
          tempPasswordValidity: Duration.days(3),
        },
        mfa: Mfa.OPTIONAL,
        mfaSecondFactor: { otp: true, sms: false },
        accountRecovery: AccountRecovery.EMAIL_ONLY,
        featurePlan: FeaturePlan.ESSENTIALS,
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(pool).acknowledge({
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is optional by design (issue 5): lab students sign in from shared classroom machines; admins and teachers are expected to enrol TOTP.',
      });
      Validations.of(pool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'The Essentials feature plan is enough for a lab portal without self sign-up; the Plus plan (threat protection) is billed per active user.',
      });
      for (const [groupId, groupName] of [
        ['AdminsGroup', props.adminGroup],
        ['TeachersGroup', props.teacherGroup],
      ] as const) {
        new CfnUserPoolGroup(this, groupId, { userPoolId: pool.userPoolId, groupName });
      }
      const client = pool.addClient('WebClient', {
        generateSecret: false,
        authFlows: { userSrp: true },
        preventUserExistenceErrors: true,
        oAuth: {
          // A public client with the code grant: PKCE is how the frontend proves it started the flow.
          flows: { authorizationCodeGrant: true },
          scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
          callbackUrls: props.frontendOrigins.map((origin) => `${origin}/callback`),
          logoutUrls: props.frontendOrigins.map((origin) => `${origin}/`),
        },
        idTokenValidity: Duration.hours(1),
        accessTokenValidity: Duration.hours(1),
        refreshTokenValidity: Duration.days(7),
      });
      if (props.hostedUiDomainPrefix !== undefined) {
        pool.addDomain('HostedUiDomain', { cognitoDomain: { domainPrefix: props.hostedUiDomainPrefix } });
      }
      this.userPool = pool;
      this.userPoolClient = client;
      this.issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${pool.userPoolId}`;
      this.audience = [client.userPoolClientId];
    }
    this.authorizer = new HttpJwtAuthorizer('JwtAuthorizer', this.issuer, {
      jwtAudience: [...this.audience],
      identitySource: ['$request.header.Authorization'],
    });
  }
}

/** A Cognito callback or logout URL is neither https nor on the local machine. */
export class CallbackUrlError extends Error {
  override readonly name = 'CallbackUrlError';
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Refuses callback and logout URLs that are not https (http only for localhost): Cognito hands the
 * authorization code to them, which must not travel in the clear. URLs known only at deploy time
 * (tokens) must still start with `https://`.
 */
export function assertCallbackUrls(urls: readonly string[]): void {
  const refused = urls.filter((value) => {
    if (Token.isUnresolved(value)) return !value.startsWith('https://');
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return true;
    }
    if (url.protocol === 'https:') return false;
    return !(url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname));
  });
  if (refused.length > 0) {
    throw new CallbackUrlError(
      `pveInventory.corsOrigins: ${refused.join(', ')} cannot be Cognito callback URLs: use https:// (http:// only for localhost)`,
    );
  }
}
