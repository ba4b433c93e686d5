/**
 * A real HTTP server on a loopback address (127.0.0.1 unless told; any of 127.0.0.0/8 or ::1) that records
 * the requests it gets and answers what the test says: a status, and headers (a redirect's Location).
 */
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  at: number;
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export async function httpTarget(
  status: (req: Received) => number = () => 200,
  opts: {
    host?: string;
    port?: number;
    headers?: (req: Received) => Record<string, string | undefined>;
  } = {},
) {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r = {
        at: Date.now(),
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(r);
      res.statusCode = status(r);
      for (const [k, v] of Object.entries(opts.headers?.(r) ?? {})) if (v !== undefined) res.setHeader(k, v);
      res.end("ok");
    });
  });
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
