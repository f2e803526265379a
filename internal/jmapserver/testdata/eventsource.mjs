// Shared by jam.mjs and jam_shared.mjs.
// Node 20 has no EventSource: a small one over fetch that sends the
// Authorization header (the event stream format of the HTML standard).
export function installEventSource(token) {
  globalThis.EventSource = class {
    constructor(url) {
      this.listeners = {};
      this.ctrl = new AbortController();
      this.ready = (async () => {
        const res = await fetch(url, { headers: { Authorization: "Bearer " + token, Accept: "text/event-stream" }, signal: this.ctrl.signal });
        if (!res.ok) throw new Error("eventsource status " + res.status);
        const dec = new TextDecoder();
        let buf = "";
        for await (const chunk of res.body) {
          buf += dec.decode(chunk, { stream: true });
          let i;
          while ((i = buf.indexOf("\n\n")) >= 0) {
            const block = buf.slice(0, i); buf = buf.slice(i + 2);
            let type = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) type = line.slice(6).trim();
              if (line.startsWith("data:")) data += line.slice(5).trim();
            }
            for (const f of this.listeners[type] ?? []) f({ type, data });
          }
        }
      })().catch((e) => { if (e.name !== "AbortError") for (const f of this.listeners.error ?? []) f(e); });
    }
    addEventListener(t, f) { (this.listeners[t] ??= []).push(f); }
    close() { this.ctrl.abort(); }
  };
}
