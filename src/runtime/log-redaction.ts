/**
 * What Bosun's logs never hold, whoever logs an object that carries it: credentials in headers, passwords,
 * refresh tokens, API keys. pino replaces them at serialisation, so a careless `log.error({ req })` or an
 * error with its request attached still prints "[redacted]".
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["sec-websocket-protocol"]',
  "headers.authorization",
  "authorization",
  "password",
  "*.password",
  "refreshToken",
  "*.refreshToken",
  "accessToken",
  "*.accessToken",
  "token",
  "*.token",
  "key",
  "*.key",
];

export const redaction = { paths: REDACT_PATHS, censor: "[redacted]" };
