/**
 * The event stream as text/event-stream (for EventSource and `curl -N`): each message is `id:` (when it
 * moves the cursor), `event:` and one `data:` line of JSON. A heartbeat is a comment plus a bare `id:`,
 * which moves EventSource's Last-Event-ID without dispatching anything: a client whose filter matched
 * nothing for an hour reconnects from where the server had read, not from an hour ago.
 */
import type { ServerResponse } from "node:http";
import type { BosunError } from "../../core/errors.ts";
import { type EventSink, HIGH_WATER } from "./event-stream.ts";
import { type Cursor, errorFrame, type Frame, formatCursor } from "./messages.ts";

// After the last message of a closed stream, a client that does not read gets this long to take it.
const LINGER_MS = 2000;

const text = (f: Frame) => `${f.id === null ? "" : `id: ${f.id}\n`}event: ${f.event}\ndata: ${f.json}\n\n`;

export class SseSink implements EventSink {
  readonly #res: ServerResponse;
  #closed = false;
  readonly #onClose: (() => void)[] = [];

  constructor(res: ServerResponse) {
    this.#res = res;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // nginx buffers responses unless told not to; a buffered event stream arrives in lumps.
      "x-accel-buffering": "no",
    });
    // Headers now: the client knows it is subscribed before the first change.
    res.flushHeaders();
    res.on("close", () => this.#finish());
  }

  get closed(): boolean {
    return this.#closed;
  }

  buffered(): number {
    return this.#res.writableLength;
  }

  writable(): Promise<void> {
    if (this.#closed || this.#res.writableLength < HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off("drain", done);
        this.#res.off("close", done);
        resolve();
      };
      this.#res.on("drain", done);
      this.#res.on("close", done);
    });
  }

  send(frame: Frame): void {
    if (!this.#closed) this.#res.write(text(frame));
  }

  heartbeat(cursor: Cursor): void {
    if (!this.#closed) this.#res.write(`: heartbeat\nid: ${formatCursor(cursor)}\n\n`);
  }

  close(error: BosunError | null): void {
    if (this.#closed) return;
    const res = this.#res;
    res.end(error ? text(errorFrame(error)) : undefined);
    this.#finish();
    // A client that stopped reading never takes the end: the socket goes, and its buffer with it.
    const linger = setTimeout(() => res.destroy(), LINGER_MS);
    linger.unref();
    res.once("close", () => clearTimeout(linger));
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
