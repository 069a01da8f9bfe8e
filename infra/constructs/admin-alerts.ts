import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { SubscriptionProtocol, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { ALERT_ENV } from '#shared/alerts/wiring.ts';
import type { PveFunction } from './pve-function.ts';

/** Properties of {@link AdminAlerts}. */
export interface AdminAlertsProps {
  /** E-mail addresses subscribed to the alerts (each confirms the e-mail AWS sends). @default none */
  readonly emails?: readonly string[];
  /** HTTPS webhook URLs subscribed to the alerts (each confirms the subscription URL SNS posts). @default none */
  readonly webhooks?: readonly string[];
}

/** A webhook URL that is not HTTPS: SNS would deliver alerts in clear text. */
export class AlertWebhookError extends Error {
  override readonly name = 'AlertWebhookError';
}

/**
 * The admin alert topic: cluster unsynced longer than the staleness cutoff, cluster healthy again,
 * scheduled or bulk action failed (published by the functions through `publishAlert`). Separate
 * from the CloudWatch alarm topic, whose policy admits CloudWatch only. Encrypted with its own
 * rotating key, TLS-only publishers; e-mail and HTTPS webhook subscriptions from the settings.
 */
export class AdminAlerts extends Construct {
  public readonly topic: Topic;
  public readonly key: Key;

  constructor(scope: Construct, id: string, props: AdminAlertsProps = {}) {
    super(scope, id);
    for (const url of props.webhooks ?? []) {
      if (!url.startsWith('https://'))
        throw new AlertWebhookError(`alert webhook ${url} must be an https:// URL`);
    }
    this.key = new Key(this, 'Key', {
      description: 'Encrypts the pve-inventory admin alert topic',
      enableKeyRotation: true,
    });
    this.topic = new Topic(this, 'Topic', {
      displayName: 'pve-inventory alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails ?? []) this.topic.addSubscription(new EmailSubscription(email));
    for (const url of props.webhooks ?? []) {
      this.topic.addSubscription(new UrlSubscription(url, { protocol: SubscriptionProtocol.HTTPS }));
    }
  }

  /**
   * Lets a function publish alerts: sns:Publish on the topic, and the two key actions SNS performs
   * for a publisher to an encrypted topic (named exactly: no `GenerateDataKey*` wildcard), plus
   * `ALERT_TOPIC_ARN`.
   */
  allowPublish(fn: PveFunction): void {
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    fn.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['kms:Decrypt', 'kms:GenerateDataKey'], resources: [this.key.keyArn] }),
    );
    fn.function.addEnvironment(ALERT_ENV.topicArn, this.topic.topicArn);
  }
}
