// A reader of server-sent events (text/event-stream) from a fetch body:
// browsers' EventSource cannot send an Authorization header, so the
// client reads GET /v1/stream with fetch.

const MAX_LINE = 1 << 20;

/**
 * readEvents reads body (a ReadableStream of bytes) and calls
 * onEvent({event, data, id}) for every dispatched event; comments
 * (heartbeats) call onComment. Resolves when the stream ends.
 */
export async function readEvents(body, onEvent, onComment) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  let ev = { event: "message", data: [], id: undefined };
  const line = (l) => {
    if (l === "") {
      if (ev.data.length) onEvent({ event: ev.event, data: ev.data.join("\n"), id: ev.id });
      ev = { event: "message", data: [], id: ev.id };
      return;
    }
    if (l.startsWith(":")) {
      onComment?.(l.slice(1).trim());
      return;
    }
    const i = l.indexOf(":");
    const field = i < 0 ? l : l.slice(0, i);
    let value = i < 0 ? "" : l.slice(i + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") ev.data.push(value);
    else if (field === "event") ev.event = value;
    else if (field === "id") ev.id = value;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += dec.decode(value, { stream: true });
    let j;
    while ((j = buf.search(/\r\n|\r|\n/)) >= 0) {
      const nl = buf[j] === "\r" && buf[j + 1] === "\n" ? 2 : 1;
      if (buf[j] === "\r" && j + 1 === buf.length) break; // a CR at the end may start CRLF
      line(buf.slice(0, j));
      buf = buf.slice(j + nl);
    }
    if (buf.length > MAX_LINE) throw new Error(`stream: a line over ${MAX_LINE} bytes`);
  }
}
