package client

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// ImagePreview reads a picture's size and makes a JPEG PreviewSide pixels
// on its longer side, of the picture's colours; what is not a picture it
// can decode gets none.
func TestImagePreview(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 300, 400))
	for y := range 400 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{200, 30, 30, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	w, h, thumb, ok := ImagePreview(b.Bytes())
	if !ok || w != 300 || h != 400 || len(thumb) == 0 || len(thumb) > previewMaxBytes {
		t.Fatalf("preview of a 300×400 PNG: %d×%d, %d bytes, %v", w, h, len(thumb), ok)
	}
	small, err := jpeg.Decode(bytes.NewReader(thumb))
	if err != nil {
		t.Fatal(err)
	}
	if sb := small.Bounds(); sb.Dx() != 36 || sb.Dy() != PreviewSide {
		t.Fatalf("thumb %v, want 36×%d", sb, PreviewSide)
	}
	if r, g, _, _ := small.At(18, 24).RGBA(); r>>8 < 180 || g>>8 > 60 {
		t.Fatalf("thumb colour r=%d g=%d, want the picture's red", r>>8, g>>8)
	}
	if _, _, _, ok := ImagePreview([]byte("%PDF-1.7")); ok {
		t.Fatal("a PDF got a preview")
	}
}

// BenchmarkImagePreview: the preview of a 12-megapixel phone photo (a
// JPEG of 4000×3000), which SendFile makes before the upload.
func BenchmarkImagePreview(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 4000, 3000), image.YCbCrSubsampleRatio420)
	for i := range img.Y {
		img.Y[i] = uint8(i * 7)
	}
	var photo bytes.Buffer
	if err := jpeg.Encode(&photo, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(photo.Len()))
	for b.Loop() {
		if _, _, _, ok := ImagePreview(photo.Bytes()); !ok {
			b.Fatal("no preview")
		}
	}
}
