/**
 * Server-Sent Events read from a fetch body, as the HTML standard parses them: blocks end at a blank
 * line, `data:` lines join with "\n", lines starting with ":" are comments, and an `id:` in a block
 * without data (Bosun's heartbeat) still moves the last event id. Only what Bosun sends needs to work,
 * but a proxy may change line endings, so CRLF and CR are accepted too.
 */
import { decodeStream } from "./http.ts";

export interface SseMessage {
  event: string;
  data: string;
  /** The last event id after this block (a heartbeat yields only this, with data null). */
  lastEventId: string | null;
}

export async function* readSse(res: Response): AsyncGenerator<SseMessage | { heartbeat: string | null }> {
  let buffer = "";
  let lastEventId: string | null = null;
  let event = "";
  let data: string[] = [];
  let sawId = false;
  for await (const text of decodeStream(res)) {
    buffer += text;
    const lines = buffer.split(/\r\n|\r|\n/);
    // The last piece may be an unfinished line (or a lone \r of a \r\n split across chunks).
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n"), lastEventId };
        else if (sawId) yield { heartbeat: lastEventId };
        event = "";
        data = [];
        sawId = false;
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id" && !value.includes("\0")) {
        lastEventId = value;
        sawId = true;
      }
    }
  }
}
