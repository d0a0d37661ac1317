// Framing (docs/PROTOCOL.md §2): an unsigned LEB128 length of at most 5
// bytes, minimal, then that many bytes of one protobuf message.

export const DEFAULT_MAX_FRAME = 256 * 1024;

/** MAX_MAX_FRAME is the largest frame a server may be set to allow. */
export const MAX_MAX_FRAME = 16 * 1024 * 1024;

export class FrameError extends Error {}

/** encodeFrame prefixes payload with its length. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let n = payload.length;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    prefix.push(b);
  } while (n > 0);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

/**
 * FrameReader cuts frames out of a byte stream that arrives in chunks of
 * any size (WebSocket messages, WebTransport reads).
 */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  /** maxFrame bounds each frame; a client sets it to its server's (Welcome). */
  constructor(public maxFrame = DEFAULT_MAX_FRAME) {}

  /** push adds a chunk and returns the frames it completed. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.buf.length === 0) {
      this.buf = chunk;
    } else {
      const b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf, 0);
      b.set(chunk, this.buf.length);
      this.buf = b;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      let n = 0;
      let i = 0;
      let complete = false;
      for (; i < this.buf.length; i++) {
        const b = this.buf[i];
        if (i === 4 && b >= 0x80) throw new FrameError("length prefix longer than 5 bytes");
        n += (b & 0x7f) * 2 ** (7 * i);
        if (b < 0x80) {
          if (i > 0 && b === 0) throw new FrameError("non-minimal length prefix");
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) break;
      if (n > this.maxFrame) throw new FrameError(`frame of ${n} bytes, limit ${this.maxFrame}`);
      if (this.buf.length < i + n) break;
      frames.push(this.buf.subarray(i, i + n));
      this.buf = this.buf.subarray(i + n);
    }
    return frames;
  }
}
