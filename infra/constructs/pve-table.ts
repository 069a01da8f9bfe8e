import { RemovalPolicy } from 'aws-cdk-lib';
import {
  AttributeType,
  Billing,
  type GlobalSecondaryIndexPropsV2,
  ProjectionType,
  StreamViewType,
  TableV2,
} from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import type { KeyAttribute, ProjectionDesign, TableDesign } from '#shared/store/table-design.ts';

export interface PveTableProps {
  /** the table's single definition (shared/store/table-design.ts) */
  readonly design: TableDesign;
  /**
   * What happens to the table when it leaves the stack.
   * @default 'destroy'
   */
  readonly removal?: 'retain' | 'destroy';
  /**
   * Refuse table deletion (even from the console) until switched off.
   * @default true when removal is 'retain'
   */
  readonly deletionProtection?: boolean;
}

function attribute(key: KeyAttribute) {
  return { name: key.name, type: key.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER };
}

function projection(
  design: ProjectionDesign,
): Pick<GlobalSecondaryIndexPropsV2, 'projectionType' | 'nonKeyAttributes'> {
  switch (design.type) {
    case 'ALL':
      return { projectionType: ProjectionType.ALL };
    case 'KEYS_ONLY':
      return { projectionType: ProjectionType.KEYS_ONLY };
    case 'INCLUDE':
      return { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...design.nonKeyAttributes] };
  }
}

/**
 * One DynamoDB table built from its shared design: on-demand billing, point-in-time recovery,
 * generated physical name, the design's GSIs and TTL attribute.
 */
export class PveTable extends Construct {
  public readonly table: TableV2;

  constructor(scope: Construct, id: string, props: PveTableProps) {
    super(scope, id);
    const { design } = props;
    const retain = props.removal === 'retain';
    this.table = new TableV2(this, 'Table', {
      partitionKey: attribute(design.partitionKey),
      sortKey: attribute(design.sortKey),
      billing: Billing.onDemand(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: props.deletionProtection ?? retain,
      ...(design.ttlAttribute ? { timeToLiveAttribute: design.ttlAttribute } : {}),
      ...(design.stream === 'NEW_AND_OLD_IMAGES' ? { dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES } : {}),
      globalSecondaryIndexes: design.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        ...projection(index.projection),
      })),
    });
  }
}
