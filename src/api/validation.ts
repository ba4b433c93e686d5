/**
 * Request validation for every route, by TypeBox: the same validator the SDK (engine/job-input.ts) and the
 * config use, so a value the API accepts is a value the rest of Bosun accepts. It replaces Fastify's ajv
 * with `coerceTypes`, whose string coercion let "Infinity" and "1e400" through as numbers past their
 * minimum/maximum (ajv skips range checks on non-finite numbers), so such jobs were stored and broke every
 * later list.
 *
 * - JSON bodies are never coerced: a number is a JSON number. Defaults of the schema are applied.
 * - Query strings and path parameters arrive as text. A text becomes a number or boolean only when it is
 *   written exactly as that value ("5", "true"): "5.5" for an integer, "05", "0x10", "Infinity" and
 *   "1e400" stay text and fail their type, so every number is a finite integer within its stated bounds.
 */
import type { FastifySchemaCompiler } from "fastify";
import type { TSchema } from "typebox";
import { Compile } from "typebox/compile";

type Part = "body" | "querystring" | "params" | "headers";

/** Keeps only conversions that round-trip: a converted value must print back as the text that came. */
function exactConversions(original: unknown, converted: unknown): unknown {
  if (typeof original !== "object" || original === null || typeof converted !== "object" || !converted)
    return converted;
  const out = converted as Record<string, unknown>;
  for (const [key, raw] of Object.entries(original as Record<string, unknown>)) {
    const value = out[key];
    if (typeof raw === "string" && typeof value !== "string" && String(value) !== raw) out[key] = raw;
  }
  return out;
}

export const typeboxValidatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const validator = Compile(schema);
  const convert = (httpPart as Part | undefined) !== "body";
  return (input: unknown) => {
    const converted = convert ? exactConversions(input, validator.Convert(structuredCopy(input))) : input;
    const value = validator.Default(converted);
    if (validator.Check(value)) return { value };
    return { error: validator.Errors(value) as never };
  };
};

/** Query strings and params are flat objects of strings (or arrays of them); a shallow copy suffices. */
function structuredCopy(input: unknown): unknown {
  if (typeof input !== "object" || input === null) return input;
  return { ...(input as Record<string, unknown>) };
}
