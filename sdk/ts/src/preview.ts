// Previews of pictures, made in a browser before an upload.

import type { Preview } from "./store.js";

/** PREVIEW_SIDE is the longer side of the tiny image makePreview draws, in pixels. */
export const PREVIEW_SIDE = 48;

/** The most makePreview keeps of its image: the node's default --max-media-thumb-bytes. */
const PREVIEW_MAX_BYTES = 4096;

/**
 * makePreview reads a picture's size and draws its tiny preview (a JPEG,
 * PREVIEW_SIDE pixels on its longer side), for upload or sendFile, so a
 * reader sees the picture before downloading it. Where the runtime cannot
 * decode or draw (not a picture, no createImageBitmap or OffscreenCanvas,
 * as in Node), it resolves to undefined: send the file without one.
 */
export async function makePreview(file: Blob): Promise<Preview | undefined> {
  if (typeof createImageBitmap !== "function" || typeof OffscreenCanvas !== "function") return undefined;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return undefined; // not a picture this runtime reads
  }
  const { width, height } = bitmap;
  try {
    const scale = Math.min(1, PREVIEW_SIDE / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = new OffscreenCanvas(w, h);
    const g = canvas.getContext("2d");
    if (!g) return { width, height };
    g.drawImage(bitmap, 0, 0, w, h);
    const jpeg = new Uint8Array(await (await canvas.convertToBlob({ type: "image/jpeg", quality: 0.6 })).arrayBuffer());
    return jpeg.length <= PREVIEW_MAX_BYTES ? { width, height, thumb: jpeg } : { width, height };
  } finally {
    bitmap.close();
  }
}
