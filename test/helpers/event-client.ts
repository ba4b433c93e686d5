/**
 * Clients of GET /api/v1/events for tests, written against the wire format (not the SDK's parser): an SSE
 * reader over fetch and a WebSocket reader (Node's global WebSocket), both collecting parsed messages.
 * Both connect as the server's admin: SSE with its Authorization header, the WebSocket with the bearer
 * subprotocol a browser would use.
 */
import { adminToken, authedFetch } from "./auth.ts";

export interface EventMessage {
  kind: string;
  seq?: number;
  jobId?: string;
  event?: string;
  to?: string | null;
  queue?: string;
  logSeq?: number;
  data?: string;
  progress?: number;
  cursor?: string;
  error?: { code: string; message: string };
}

export interface Collected {
  messages: EventMessage[];
  /** SSE: the id: of each message (null without one), in step with messages. */
  ids: (string | null)[];
  /** Job messages only. */
  jobs(): EventMessage[];
  /** Resolves when the server ended the stream (or it failed). */
  ended: Promise<void>;
  closeCode?: number;
  close(): void;
}

export async function sse(
  base: string,
  query: string,
  headers: Record<string, string> = {},
): Promise<Collected & { status: number; body?: string }> {
  const abort = new AbortController();
  const res = await authedFetch(`${base}/api/v1/events${query ? `?${query}` : ""}`, {
    headers: { accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  const messages: EventMessage[] = [];
  const ids: (string | null)[] = [];
  if (res.status !== 200) {
    const body = await res.text();
    return {
      status: res.status,
      body,
      messages,
      ids,
      jobs: () => [],
      ended: Promise.resolve(),
      close: () => undefined,
    };
  }
  const ended = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of res.body!) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | null = null;
        let data: string | null = null;
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) id = line.slice(4);
          if (line.startsWith("data: ")) data = line.slice(6);
        }
        if (data === null) continue; // a heartbeat
        messages.push(JSON.parse(data));
        ids.push(id);
      }
    }
  })().catch(() => undefined);
  await waitForReady(messages);
  return {
    status: 200,
    messages,
    ids,
    jobs: () => messages.filter((m) => m.kind === "job"),
    ended,
    close: () => abort.abort(),
  };
}

export async function ws(base: string, query: string, token?: string | null): Promise<Collected> {
  const bearer = token === undefined ? await adminToken(base) : token;
  const socket = new WebSocket(
    `${base.replace(/^http/, "ws")}/api/v1/events${query ? `?${query}` : ""}`,
    bearer ? ["bosun.events", `bosun.bearer.${bearer}`] : [],
  );
  const messages: EventMessage[] = [];
  const out: Collected = {
    messages,
    ids: [],
    jobs: () => messages.filter((m) => m.kind === "job"),
    ended: new Promise<void>((resolve) => {
      socket.addEventListener("close", (e) => {
        out.closeCode = e.code;
        resolve();
      });
    }),
    close: () => socket.close(),
  };
  socket.addEventListener("message", (e) => messages.push(JSON.parse(String(e.data))));
  await Promise.race([waitForReady(messages), out.ended]);
  return out;
}

/** The first message of every stream; after it, the server follows the feed. */
async function waitForReady(messages: EventMessage[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (messages.length === 0) {
    if (Date.now() > deadline) throw new Error("no ready message");
    await new Promise((r) => setTimeout(r, 5));
  }
}
