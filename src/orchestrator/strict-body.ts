// JSON bodies are validated without type coercion: the app-wide Ajv coerces (query strings are all
// text), which would turn `{"officerId": 42}` into "42". Bodies are typed JSON, so a number where
// a string belongs is the client's bug and gets a 400. Errors come out shaped like Ajv's, so the
// one error handler (errors.ts) maps them.
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import type { FastifySchemaValidationError } from 'fastify';
import type { FastifyValidationResult } from 'fastify/types/schema.js';

export function strictBodyCompiler({ schema }: { schema: unknown }): FastifyValidationResult {
  const check = TypeCompiler.Compile(schema as TSchema);
  const validate = (data: unknown): boolean => {
    if (check.Check(data)) return true;
    const first = check.Errors(data).First();
    const error: FastifySchemaValidationError = {
      keyword: 'type',
      instancePath: first?.path ?? '',
      schemaPath: '#',
      params: {},
      message: first?.message.toLowerCase() ?? 'is invalid',
    };
    validate.errors = [error];
    return false;
  };
  validate.errors = [] as FastifySchemaValidationError[];
  return validate;
}
