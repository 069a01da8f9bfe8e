import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CachePolicy,
  Function as CloudFrontFunction,
  Distribution,
  FunctionCode,
  FunctionEventType,
  FunctionRuntime,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  PriceClass,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of {@link PortalHosting}. */
export interface PortalHostingProps {
  /**
   * Origins the portal may call besides its own (`connect-src` of the CSP): the API, the token
   * endpoint of the issuer. Wildcards by region, since the API is created after the portal (its
   * CORS names the portal's origin).
   */
  readonly connectOrigins: readonly string[];
}

/**
 * Where the portal is served from: a private S3 bucket (no public access, SSE-S3, TLS only) behind
 * CloudFront with origin access control, HTTPS only, security headers with a strict
 * Content-Security-Policy, and a viewer-request function that sends the SPA's routes (paths
 * without a file extension) to `/index.html` without rewriting real errors.
 */
export class PortalHosting extends Construct {
  public readonly bucket: Bucket;
  public readonly distribution: Distribution;
  /** `https://<distribution domain>`: the portal's origin. */
  public readonly origin: string;
  /** The Content-Security-Policy header value. */
  public readonly contentSecurityPolicy: string;

  constructor(scope: Construct, id: string, props: PortalHostingProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The bucket holds only the built portal, redeployed from the repository on every deploy; reads are logged by CloudFront when access logs are enabled.',
    });

    this.contentSecurityPolicy = [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${props.connectOrigins.join(' ')}`,
      "frame-ancestors 'none'",
      "base-uri 'self'",
      "object-src 'none'",
      "form-action 'self'",
    ].join('; ');
    const headers = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'pve-inventory portal: strict CSP, HSTS, no framing, no sniffing',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: this.contentSecurityPolicy, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });
    const spaRoutes = new CloudFrontFunction(this, 'SpaRoutes', {
      runtime: FunctionRuntime.JS_2_0,
      comment: 'Serves index.html for the portal routes (paths without a file extension)',
      code: FunctionCode.fromInline(
        "function handler(event) { var r = event.request; if (r.uri.indexOf('.') === -1) { r.uri = '/index.html'; } return r; }",
      ),
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: 'pve-inventory portal',
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: PriceClass.PRICE_CLASS_100,
      minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
        functionAssociations: [{ function: spaRoutes, eventType: FunctionEventType.VIEWER_REQUEST }],
      },
    });
    for (const [ruleId, reason] of [
      ['AwsSolutions-CFR1', 'A lab portal for a school: no geographic restriction is wanted.'],
      [
        'AwsSolutions-CFR2',
        'Static files only behind sign-in at the API; AWS WAF (a web ACL plus rules, billed monthly) is left to deployments that need it.',
      ],
      [
        'AwsSolutions-CFR3',
        'Static, public-by-design files; CloudFront access logs (a log bucket with ACLs) are optional for this deployment.',
      ],
      [
        'AwsSolutions-CFR4',
        'The default *.cloudfront.net certificate is used until a custom domain with an ACM certificate is configured; TLSv1.2_2021 is set for that case.',
      ],
    ] as const) {
      Validations.of(this.distribution).acknowledge({ id: ruleId, reason });
    }
    this.origin = `https://${this.distribution.distributionDomainName}`;
  }
}
