import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from './helpers.ts';

/**
 * The portal's hosting (private bucket, CloudFront with OAC, HTTPS only, strict security headers,
 * SPA routes by a viewer-request function), its content (hashed assets cached for a year; index.html
 * and the deploy-time config.json revalidated and invalidated) and how the API names its origin.
 */

let portal: Template;
let content: Template;
let api: Template;
let app: ReturnType<typeof synthApp>['app'];

beforeAll(() => {
  const synth = synthApp({ pveInventory: { portal: { hostedUiDomainPrefix: 'my-lab' } } });
  const { stacks } = synth;
  if (stacks.portal === undefined || stacks.portalContent === undefined) throw new Error('no portal stacks');
  app = synth.app;
  portal = synth.template(stacks.portal);
  content = synth.template(stacks.portalContent);
  api = synth.template(stacks.api);
});

describe('PortalStack', () => {
  it('synthesizes with cdk-nag and no unacknowledged finding', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('keeps the bucket private, encrypted and TLS-only, readable only by the distribution', () => {
    portal.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
    });
    portal.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Action: 's3:GetObject',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
    portal.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ SigningBehavior: 'always', SigningProtocol: 'sigv4' }),
    });
  });

  it('serves over HTTPS only with the SPA routes function and the security headers', () => {
    portal.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'redirect-to-https',
          FunctionAssociations: [Match.objectLike({ EventType: 'viewer-request' })],
        }),
      }),
    });
    portal.hasResourceProperties('AWS::CloudFront::Function', {
      FunctionConfig: Match.objectLike({ Runtime: 'cloudfront-js-2.0' }),
    });
    const policies = portal.findResources('AWS::CloudFront::ResponseHeadersPolicy');
    const config = Object.values(policies)[0]?.Properties.ResponseHeadersPolicyConfig;
    const security = config.SecurityHeadersConfig;
    expect(security.StrictTransportSecurity).toMatchObject({
      AccessControlMaxAgeSec: 31_536_000,
      Override: true,
    });
    expect(security.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(security.ContentTypeOptions).toEqual({ Override: true });
    const csp = JSON.stringify(security.ContentSecurityPolicy.ContentSecurityPolicy);
    for (const directive of [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "frame-ancestors 'none'",
      "object-src 'none'",
    ]) {
      expect(csp).toContain(directive);
    }
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain('https://*.execute-api.');
    expect(csp).toContain('wss://*.execute-api.');
    expect(csp).toContain('https://cognito-idp.');
    expect(csp).toContain('https://my-lab.auth.');
  });
});

describe('PortalContentStack', () => {
  it('deploys the hashed assets immutable and index.html with config.json revalidated and invalidated', () => {
    content.hasResourceProperties('Custom::CDKBucketDeployment', {
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
      Prune: false,
    });
    content.hasResourceProperties('Custom::CDKBucketDeployment', {
      SystemMetadata: { 'cache-control': 'no-cache' },
      Prune: false,
      DistributionPaths: ['/index.html', '/config.json'],
    });
  });

  it('writes config.json at deploy time from the API URL, issuer, client id and live URL', () => {
    const deployments = Object.values(content.findResources('Custom::CDKBucketDeployment'));
    const withConfig = deployments.find((d) => JSON.stringify(d.Properties).includes('config.json'));
    const markers = JSON.stringify(withConfig?.Properties.SourceMarkers ?? []);
    // Deploy-time values: the HTTP API's endpoint, the user pool (issuer) and its web client.
    expect(markers).toMatch(/HttpApi\w*ApiEndpoint/);
    expect(markers).toMatch(/AuthUserPool\w+/);
    expect(markers).toMatch(/UserPoolWebClient/);
    // The live updates' WebSocket API: the portal learns its stage URL from config.json too.
    expect(markers).toMatch(/ExportsOutputRefLiveApi\w+/);
  });
});

describe('the API for the portal', () => {
  it("allows exactly the portal's origin in CORS and as Cognito callback and logout URLs", () => {
    const cors = api.findResources('AWS::ApiGatewayV2::Api');
    const origins = Object.values(cors)[0]?.Properties.CorsConfiguration.AllowOrigins;
    expect(origins).toHaveLength(1);
    expect(JSON.stringify(origins)).toMatch(
      /^\[\{"Fn::Join":\["",\["https:\/\/",\{"Fn::ImportValue":"PveInventoryPortal:\w*Distribution\w*DomainName\w*"\}\]\]\}\]$/,
    );
    const clients = Object.values(api.findResources('AWS::Cognito::UserPoolClient'));
    const client = clients[0]?.Properties;
    expect(client.CallbackURLs).toHaveLength(1);
    expect(JSON.stringify(client.CallbackURLs)).toMatch(/Distribution\w*DomainName.*"\/callback"/);
    expect(JSON.stringify(client.LogoutURLs)).toMatch(/Distribution\w*DomainName.*"\/"/);
    api.hasResourceProperties('AWS::Cognito::UserPoolDomain', { Domain: 'my-lab' });
  });
});
