import * as z from 'zod';

/**
 * Small helpers reading zod schemas (shape, examples) for the OpenAPI generator and the bad-input
 * property tests, so that both are driven by the same route table schemas.
 */

/** Unwraps optional/nullable/default/prefault wrappers to the schema that carries the metadata. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (let depth = 0; depth < 10; depth += 1) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault
    ) {
      current = current.unwrap() as z.ZodType;
      continue;
    }
    break;
  }
  return current;
}

/** The examples registered with `.meta({ examples })` on a schema or the schema it wraps. */
export function examplesOf(schema: z.ZodType): unknown[] {
  for (const candidate of [schema, unwrapSchema(schema)]) {
    const examples = z.globalRegistry.get(candidate)?.examples;
    if (Array.isArray(examples) && examples.length > 0) return examples;
  }
  return [];
}

/** The property schemas of an object schema (also through wrappers), or `undefined` for non-objects. */
export function objectShape(schema: z.ZodType | undefined): Record<string, z.ZodType> | undefined {
  if (schema === undefined) return undefined;
  const inner = unwrapSchema(schema);
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, z.ZodType>) : undefined;
}

/** Whether an object property may be omitted. */
export function isOptionalProperty(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success;
}
