/**
 * Maps every failure to `{"error": {code, message, details?}}` with a code from core/errors.ts. Fastify's
 * own errors (validation, body parsing, size) are translated so clients see one vocabulary.
 */
import type { FastifyError, FastifyInstance } from "fastify";
import { BosunError, type ErrorCode } from "../core/errors.ts";

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "UNSUPPORTED_MEDIA_TYPE",
  FST_ERR_CTP_EMPTY_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_JSON_BODY: "INVALID_JSON",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "VALIDATION_FAILED",
};

type ValidationIssue = NonNullable<FastifyError["validation"]>[number];

/** TypeBox reports a closed object's extra key twice (as a false schema, then by name): keep the second. */
const isReported = (v: ValidationIssue) =>
  !(v.keyword === "boolean" && v.schemaPath.endsWith("/additionalProperties"));

function describe(v: ValidationIssue): string | undefined {
  const extra = (v.params as { additionalProperties?: unknown } | undefined)?.additionalProperties;
  if (v.keyword === "additionalProperties" && Array.isArray(extra))
    return `has unknown ${extra.length > 1 ? "fields" : "field"} ${extra.join(", ")}`;
  return v.message;
}

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | BosunError, request, reply) => {
    if (err instanceof BosunError) return reply.status(err.status).send({ error: err.toJSON() });
    if ("validation" in err && err.validation) {
      const details = err.validation.filter(isReported).map((v) => ({
        path: `${err.validationContext ?? "body"}${v.instancePath}`,
        message: describe(v),
        ...(v.params && Object.keys(v.params).length > 0 ? { params: v.params } : {}),
      }));
      const first = details[0];
      return reply.status(400).send({
        error: {
          code: "VALIDATION_FAILED",
          message: first ? `${first.path} ${first.message}` : err.message,
          details,
        },
      });
    }
    const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
    if (mapped) {
      const e = new BosunError(
        mapped,
        mapped === "INVALID_JSON" ? `The body is not valid JSON: ${err.message}` : undefined,
      );
      return reply.status(e.status).send({ error: e.toJSON() });
    }
    if (err instanceof SyntaxError) {
      return reply
        .status(400)
        .send({ error: { code: "INVALID_JSON", message: `The body is not valid JSON: ${err.message}` } });
    }
    if (typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500) {
      return reply
        .status(err.statusCode)
        .send({ error: { code: "VALIDATION_FAILED", message: err.message } });
    }
    request.log.error({ err }, "unhandled error");
    return reply.status(500).send({ error: { code: "INTERNAL", message: "Internal error" } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ error: { code: "ROUTE_NOT_FOUND", message: `No route ${request.method} ${request.url}` } }),
  );
}
