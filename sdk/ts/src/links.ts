// Links: the byte stream of one connection over WebTransport or
// WebSocket (docs/PROTOCOL.md §12).

export type TransportKind = "webtransport" | "websocket";

export interface LinkHandlers {
  onData(chunk: Uint8Array): void;
  /** A datagram (WebTransport only): one encoded Signal. */
  onDatagram(b: Uint8Array): void;
  /** The link ended; code is the protocol's close code when known. */
  onClose(code: number | undefined, reason: string): void;
}

export interface Link {
  readonly kind: TransportKind;
  send(b: Uint8Array): void;
  /** close ends the link; code (a protocol code) says why, when the client knows. */
  close(code?: number): void;
}

/** WebWebConfig is the node's /web.json. */
export interface WebConfig {
  websocket: string;
  webtransport?: string;
  cert_hashes?: { algorithm: string; value: string }[];
}

function b64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export async function openWebTransport(cfg: WebConfig, h: LinkHandlers): Promise<Link> {
  const WT = (globalThis as any).WebTransport;
  if (!WT || !cfg.webtransport) throw new Error("WebTransport not available");
  const opts: any = {};
  if (cfg.cert_hashes?.length) {
    opts.serverCertificateHashes = cfg.cert_hashes.map((c) => ({ algorithm: c.algorithm, value: b64(c.value) }));
  }
  const wt = new WT(cfg.webtransport, opts);
  await wt.ready;
  const stream = await wt.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  let closed = false;
  const finish = (code: number | undefined, reason: string) => {
    if (closed) return;
    closed = true;
    h.onClose(code, reason);
  };
  wt.closed.then(
    (info: any) => finish(info?.closeCode, info?.reason ?? ""),
    (err: any) => finish(undefined, String(err)),
  );
  (async () => {
    const reader = stream.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        h.onData(value);
      }
    } catch {
      /* the session's close says why */
    }
  })();
  (async () => {
    const reader = wt.datagrams.readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        h.onDatagram(value);
      }
    } catch {
      /* ended with the session */
    }
  })();
  return {
    kind: "webtransport",
    send(b) {
      writer.write(b).catch(() => {});
    },
    close(code?: number) {
      try {
        wt.close(code === undefined ? undefined : { closeCode: code, reason: "" });
      } catch {
        /* already closed */
      }
    },
  };
}

export function openWebSocket(url: string, h: LinkHandlers, WS: any = (globalThis as any).WebSocket): Promise<Link> {
  if (!WS) return Promise.reject(new Error("no WebSocket implementation"));
  return new Promise((resolve, reject) => {
    const ws = new WS(url);
    ws.binaryType = "arraybuffer";
    let open = false;
    ws.onopen = () => {
      open = true;
      resolve({
        kind: "websocket",
        send(b: Uint8Array) {
          if (ws.readyState === 1) ws.send(b);
        },
        close(code?: number) {
          ws.close(code === undefined ? 1000 : 4000 + code);
        },
      });
    };
    ws.onmessage = (ev: any) => h.onData(new Uint8Array(ev.data as ArrayBuffer));
    ws.onclose = (ev: any) => {
      if (!open) reject(new Error(`websocket closed before it opened (${ev.code})`));
      h.onClose(ev.code >= 4000 && ev.code < 5000 ? ev.code - 4000 : undefined, ev.reason ?? "");
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  });
}
