/** Small fetch helpers of the client: error bodies, streamed text, an abortable pause. */
import { BosunApiError } from "./errors.ts";

export async function apiError(res: Response, method: string, path: string): Promise<BosunApiError> {
  const text = await res.text().catch(() => "");
  let error: { code?: unknown; message?: unknown; details?: unknown } | undefined;
  try {
    error = JSON.parse(text)?.error;
  } catch {
    // Not JSON: a proxy's error page, say. Reported below with the status and the start of the body.
  }
  if (typeof error?.code === "string" && typeof error.message === "string")
    return new BosunApiError(res.status, error.code, error.message, error.details);
  const snippet = text.trim().slice(0, 200);
  return new BosunApiError(
    res.status,
    "UNEXPECTED_RESPONSE",
    `${method} ${path} answered HTTP ${res.status}${snippet ? `: ${snippet}` : ""}`,
  );
}

/** A text body as it arrives; multi-byte characters split across chunks are decoded whole. */
export async function* decodeStream(res: Response): AsyncGenerator<string> {
  if (!res.body) return;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text) yield text;
    }
    const rest = decoder.decode();
    if (rest) yield rest;
  } finally {
    // Stops the download when the consumer breaks out early (or the stream failed).
    await reader.cancel().catch(() => {});
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
