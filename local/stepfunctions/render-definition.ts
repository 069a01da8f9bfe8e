/**
 * Renders a state machine definition from a synthesized CloudFormation template: the
 * `DefinitionString` is an `Fn::Join` of JSON text and references (function ARNs, the partition),
 * which get placeholder values. The local interpreter binds tasks by state name, so the ARNs only
 * need to look like ARNs.
 */
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { assertValidDefinition } from './validate-definition.ts';

const PLACEHOLDER_REGION = 'us-east-1';
const PLACEHOLDER_ACCOUNT = '123456789012';

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': 'aws',
  'AWS::Region': PLACEHOLDER_REGION,
  'AWS::AccountId': PLACEHOLDER_ACCOUNT,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': 'local',
};

const TemplateSchema = z.looseObject({
  Resources: z.record(
    z.string(),
    z.looseObject({ Type: z.string(), Properties: z.record(z.string(), z.unknown()).optional() }),
  ),
});
type Template = z.infer<typeof TemplateSchema>;

/** Thrown when the template has no (single) state machine matching the id or prefix. */
export class StateMachineNotFoundError extends Error {
  override readonly name = 'StateMachineNotFoundError';
}

/** Thrown for a CloudFormation intrinsic this renderer does not resolve. */
export class UnsupportedIntrinsicError extends Error {
  override readonly name = 'UnsupportedIntrinsicError';
}

/** A placeholder ARN for a resource of the template, shaped after its type. */
function placeholderArn(template: Template, logicalId: string): string {
  const type = template.Resources[logicalId]?.Type ?? 'AWS::Unknown::Resource';
  const prefix = `arn:aws:${type.split('::')[1]?.toLowerCase() ?? 'unknown'}:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}`;
  if (type === 'AWS::Lambda::Function')
    return `arn:aws:lambda:${PLACEHOLDER_REGION}:${PLACEHOLDER_ACCOUNT}:function:${logicalId}`;
  if (type === 'AWS::StepFunctions::StateMachine') return `${prefix}:stateMachine:${logicalId}`;
  return `${prefix}:${logicalId}`;
}

function resolveRef(template: Template, name: string): string {
  return PSEUDO_PARAMETERS[name] ?? (template.Resources[name] ? name : `placeholder-${name}`);
}

function resolveGetAtt(template: Template, logicalId: string, attribute: string): string {
  return attribute === 'Arn' ? placeholderArn(template, logicalId) : `${logicalId}.${attribute}`;
}

/** Resolves a CloudFormation value (string or intrinsic) to a string with placeholders. */
function resolveValue(template: Template, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UnsupportedIntrinsicError(`cannot resolve ${JSON.stringify(value)}`);
  }
  const [[fn, args] = ['', undefined], ...rest] = Object.entries(value);
  if (rest.length > 0) throw new UnsupportedIntrinsicError(`not an intrinsic: ${JSON.stringify(value)}`);
  if (fn === 'Ref' && typeof args === 'string') return resolveRef(template, args);
  if (fn === 'Fn::GetAtt') {
    const [id, attribute] = typeof args === 'string' ? args.split('.') : z.array(z.string()).parse(args);
    return resolveGetAtt(template, id ?? '', attribute ?? '');
  }
  if (fn === 'Fn::Join') {
    const [separator, parts] = z.tuple([z.string(), z.array(z.unknown())]).parse(args);
    return parts.map((part) => resolveValue(template, part)).join(separator);
  }
  if (fn === 'Fn::Sub') {
    const [text, variables] =
      typeof args === 'string'
        ? [args, {}]
        : z.tuple([z.string(), z.record(z.string(), z.unknown())]).parse(args);
    return text.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      // `${!x}` is Fn::Sub's escape for a literal `${x}` (left for DefinitionSubstitutions).
      if (name.startsWith('!')) return `\${${name.slice(1)}}`;
      if (name in variables) return resolveValue(template, variables[name]);
      const [id, attribute] = name.split('.');
      return attribute === undefined
        ? resolveRef(template, name)
        : resolveGetAtt(template, id ?? '', attribute);
    });
  }
  if (fn === 'Fn::ImportValue') return `imported-${resolveValue(template, args)}`;
  throw new UnsupportedIntrinsicError(`unsupported intrinsic ${fn}`);
}

/**
 * Renders the definition of the state machine whose logical id equals `logicalIdOrPrefix`, or
 * starts with it (CDK appends a hash), from a synthesized template, and validates it.
 */
export function renderDefinition(template: unknown, logicalIdOrPrefix: string): StateMachineDefinition {
  const parsed = TemplateSchema.parse(template);
  const machines = Object.entries(parsed.Resources).filter(
    ([id, resource]) =>
      resource.Type === 'AWS::StepFunctions::StateMachine' &&
      (id === logicalIdOrPrefix || id.startsWith(logicalIdOrPrefix)),
  );
  const exact = machines.find(([id]) => id === logicalIdOrPrefix);
  const match = exact ?? (machines.length === 1 ? machines[0] : undefined);
  if (!match) {
    throw new StateMachineNotFoundError(
      `${machines.length === 0 ? 'no' : 'more than one'} state machine matches "${logicalIdOrPrefix}"`,
    );
  }
  const [logicalId, resource] = match;
  let text = resolveValue(parsed, resource.Properties?.DefinitionString);
  const substitutions = z
    .record(z.string(), z.unknown())
    .optional()
    .parse(resource.Properties?.DefinitionSubstitutions);
  for (const [key, value] of Object.entries(substitutions ?? {})) {
    text = text.split(`\${${key}}`).join(resolveValue(parsed, value));
  }
  const definition: unknown = JSON.parse(text);
  return assertValidDefinition(definition, logicalId);
}
