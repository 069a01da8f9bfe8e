/**
 * Amazon States Language validation with asl-validator (a CommonJS package without types, which
 * mutates its input: it always gets a clone here).
 */
import { createRequire } from 'node:module';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import * as z from 'zod';

const require = createRequire(import.meta.url);
const aslValidatorModule: unknown = require('asl-validator');

const ValidatorResultSchema = z.object({
  isValid: z.boolean(),
  errors: z.array(z.looseObject({ message: z.string().optional() })).default([]),
});

/** Outcome of {@link validateDefinition}. */
export interface DefinitionValidation {
  readonly valid: boolean;
  /** One message per problem (empty when valid). */
  readonly errors: string[];
}

/** Thrown when a state machine definition is not valid ASL; the message lists the problems. */
export class InvalidDefinitionError extends Error {
  override readonly name = 'InvalidDefinitionError';
}

/** Validates a definition (JSON object) against the Amazon States Language, paths and ARNs included. */
export function validateDefinition(definition: unknown): DefinitionValidation {
  if (typeof aslValidatorModule !== 'function')
    throw new TypeError('asl-validator did not export a function');
  const result = ValidatorResultSchema.parse(aslValidatorModule(structuredClone(definition)));
  return {
    valid: result.isValid,
    errors: result.errors.map((error) => error.message ?? JSON.stringify(error)),
  };
}

/** Type guard: the value is a valid state machine definition the local interpreter can run. */
export function isValidDefinition(definition: unknown): definition is StateMachineDefinition {
  return validateDefinition(definition).valid;
}

/** Asserts that a definition is valid ASL, throwing {@link InvalidDefinitionError} otherwise. */
export function assertValidDefinition(definition: unknown, what = 'state machine'): StateMachineDefinition {
  const validation = validateDefinition(definition);
  if (!validation.valid || !isValidDefinition(definition)) {
    throw new InvalidDefinitionError(`${what}: invalid definition: ${validation.errors.join('; ')}`);
  }
  return definition;
}
