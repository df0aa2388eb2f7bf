// Server-Sent Events over fetch: EventSource cannot send the Authorization
// header, so the console reads the text/event-stream body itself.

export interface SseEvent {
  event: string;
  data: string;
  id: string;
}

/** Incremental parser: feed text chunks, get whole events (WHATWG rules). */
export class SseParser {
  private buf = "";
  private event = "";
  private data: string[] = [];
  private id = "";

  push(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      if (line === "") {
        if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
    }
    return out;
  }
}

/**
 * Follows an SSE URL until `signal` aborts, reconnecting after a drop.
 * `onState` reports "open", "error: ..." and "closed".
 */
export async function follow(
  url: string,
  headers: Record<string, string>,
  onEvent: (e: SseEvent) => void,
  onState: (s: string) => void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const resp = await fetch(url, { headers: { ...headers, Accept: "text/event-stream" }, signal });
      if (!resp.ok || !resp.body) {
        const text = await resp.text();
        let msg = `HTTP ${resp.status}`;
        try {
          msg = JSON.parse(text).error ?? msg;
        } catch {
          /* not JSON */
        }
        onState(`error: ${msg}`);
        if (resp.status >= 400 && resp.status < 500) return; // retrying will not help
      } else {
        onState("open");
        const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
        const parser = new SseParser();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const e of parser.push(value)) onEvent(e);
        }
        onState("error: the stream ended; reconnecting");
      }
    } catch (e) {
      if (signal.aborted) break;
      onState(`error: ${e}; reconnecting`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  onState("closed");
}
