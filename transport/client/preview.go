package client

import (
	"bytes"
	"image"
	_ "image/gif" // decoders ImagePreview reads
	"image/jpeg"
	_ "image/png"
)

// shrinkSamples bounds the pixels shrink averages per target pixel, a side.
const shrinkSamples = 8

// PreviewSide is the longer side of the tiny image ImagePreview makes, in
// pixels, and previewMaxBytes the most it keeps (the node's default
// --max-media-thumb-bytes).
const (
	PreviewSide     = 48
	previewMaxBytes = 4 << 10
)

// ImagePreview reads a JPEG, PNG or GIF's size and makes its tiny preview:
// the picture scaled to PreviewSide pixels on its longer side (each pixel
// the average of the block it covers), as a JPEG. ok is false for data it
// cannot decode; thumb is nil when even that image would be over 4 KiB.
func ImagePreview(data []byte) (width, height uint32, thumb []byte, ok bool) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 1<<16 || cfg.Height > 1<<16 {
		return 0, 0, nil, false
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return 0, 0, nil, false
	}
	var out bytes.Buffer
	if err := jpeg.Encode(&out, shrink(img, PreviewSide), &jpeg.Options{Quality: 60}); err == nil && out.Len() <= previewMaxBytes {
		thumb = out.Bytes()
	}
	return uint32(cfg.Width), uint32(cfg.Height), thumb, true
}

// shrink scales img down to side pixels on its longer side by averaging
// the source pixels each target pixel covers (a box filter), reading at
// most shrinkSamples × shrinkSamples of them evenly spread: a phone photo's
// block is ~80 pixels a side, and reading all 12 million cost ~0.4 s. A
// smaller image is returned as it is.
func shrink(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	tw, th := side, max(1, h*side/w)
	if h > w {
		tw, th = max(1, w*side/h), side
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	for y := range th {
		y0, y1 := b.Min.Y+y*h/th, b.Min.Y+max((y+1)*h/th, y*h/th+1)
		for x := range tw {
			x0, x1 := b.Min.X+x*w/tw, b.Min.X+max((x+1)*w/tw, x*w/tw+1)
			var r, g, bl, a, n uint64
			ystep, xstep := max(1, (y1-y0)/shrinkSamples), max(1, (x1-x0)/shrinkSamples)
			for sy := y0; sy < y1; sy += ystep {
				for sx := x0; sx < x1; sx += xstep {
					cr, cg, cb, ca := img.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			i := dst.PixOffset(x, y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = uint8(r/n>>8), uint8(g/n>>8), uint8(bl/n>>8), uint8(a/n>>8)
		}
	}
	return dst
}
