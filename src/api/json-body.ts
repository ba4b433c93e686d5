/**
 * The JSON body parser of every route. Two differences from Fastify's own (whose prototype-poisoning
 * checks it keeps):
 * - An empty body is `{}`: most clients send `content-type: application/json` with no body on
 *   POST /jobs/:id/cancel and the like, and a route whose body is optional must accept that.
 * - Nesting deeper than `maxJsonDepth` is refused before parsing (400 JSON_TOO_DEEP): a payload nested
 *   5,000 levels deep parsed fine but overflowed the stack of the first recursive reader after it
 *   (JSON.stringify, the stores), a 500 with nothing to act on.
 */
import type { FastifyInstance } from "fastify";
import { BosunError } from "../core/errors.ts";

const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The deepest nesting of objects and arrays in a JSON text (strings skipped); stops past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) i++;
        else if (s === QUOTE) break;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth > limit) return depth;
      if (depth > max) max = depth;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) depth--;
  }
  return max;
}

export function tooDeep(limit: number): BosunError {
  return new BosunError(
    "JSON_TOO_DEEP",
    `The JSON nests objects and arrays more than ${limit} levels deep (maxJsonDepth)`,
    { limit },
  );
}

export function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(null, {});
    if (jsonDepth(text, maxDepth) > maxDepth) return done(tooDeep(maxDepth), undefined);
    parse(request, text, done);
  });
}
