/**
 * The event stream over a WebSocket: each message is one text frame of the JSON in messages.ts. The server
 * ends a stream after an error message with a close code in the private range, 4000 + the error's HTTP
 * status, so a client can tell "start over" from "reconnect":
 *   4400 VALIDATION_FAILED, 4404 JOB_NOT_FOUND: the request is wrong.
 *   4410 EVENTS_EXPIRED: the cursor is older than the feed keeps; start without since (or re-read state).
 *   4429 EVENTS_TOO_SLOW: the client fell behind; reconnect with the cursor in the error message.
 *   1011 an internal error; 1001 the server is stopping. Clients send nothing (frames over 4 KiB close it).
 */
import type { WebSocket } from "ws";
import type { BosunError } from "../../core/errors.ts";
import { type EventSink, HIGH_WATER } from "./event-stream.ts";
import { type Cursor, errorFrame, type Frame, heartbeatMessage } from "./messages.ts";

export const closeCode = (error: BosunError | null): number =>
  error === null ? 1000 : error.status >= 500 ? 1011 : 4000 + error.status;
// After the close frame, a client that does not read gets this long before the socket is cut.
const LINGER_MS = 2000;

export class WsSink implements EventSink {
  readonly #ws: WebSocket;
  #closed = false;
  readonly #onClose: (() => void)[] = [];
  /** Resolves when the last frame sent so far has reached the socket (and everything before it). */
  #flushed: Promise<void> = Promise.resolve();
  readonly #gone = Promise.withResolvers<void>();

  constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on("close", () => this.#finish());
    ws.on("error", () => this.#finish());
  }

  get closed(): boolean {
    return this.#closed;
  }

  buffered(): number {
    return this.#ws.bufferedAmount;
  }

  writable(): Promise<void> {
    if (this.#closed || this.#ws.bufferedAmount < HIGH_WATER) return Promise.resolve();
    return Promise.race([this.#flushed, this.#gone.promise]);
  }

  send(frame: Frame): void {
    this.#write(frame.json);
  }

  heartbeat(cursor: Cursor): void {
    this.#write(JSON.stringify(heartbeatMessage(cursor)));
  }

  close(error: BosunError | null): void {
    if (this.#closed) return;
    const ws = this.#ws;
    if (error) this.#write(errorFrame(error).json);
    this.#finish();
    ws.close(closeCode(error));
    // ws waits 30 s for the client's close frame; a client that stopped reading never sends it.
    const linger = setTimeout(() => ws.terminate(), LINGER_MS);
    linger.unref();
    ws.once("close", () => clearTimeout(linger));
  }

  onClose(fn: () => void): void {
    this.#onClose.push(fn);
  }

  #write(json: string): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    // A socket closing meanwhile fails the callback; `close` above is what ends the stream then.
    this.#flushed = new Promise((resolve) => this.#ws.send(json, () => resolve()));
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gone.resolve();
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
