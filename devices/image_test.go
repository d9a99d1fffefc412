package devices

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// encodeWith renders a code with a gozxing writer, adds a white quiet zone of quiet pixels,
// and returns an RGBA image (like a decoded PNG).
func encodeWith(t testing.TB, w gozxing.Writer, text string, f gozxing.BarcodeFormat, width, height, quiet int) image.Image {
	t.Helper()
	m, err := w.Encode(text, f, width, height, nil)
	if err != nil {
		t.Fatalf("encode %v %q: %v", f, text, err)
	}
	g := bitMatrixImage(m, quiet)
	rgba := image.NewRGBA(g.Bounds())
	draw.Draw(rgba, rgba.Bounds(), g, image.Point{}, draw.Src)
	return rgba
}

func toYCbCr(img image.Image) *image.YCbCr {
	b := img.Bounds()
	y := image.NewYCbCr(b, image.YCbCrSubsampleRatio420)
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			r, g, bb, _ := img.At(px, py).RGBA()
			yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(bb>>8))
			y.Y[y.YOffset(px, py)] = yy
			y.Cb[y.COffset(px, py)] = cb
			y.Cr[y.COffset(px, py)] = cr
		}
	}
	return y
}

func TestDecodeImageRoundTrip(t *testing.T) {
	cases := []struct {
		name, text, format string
		img                image.Image
	}{
		{"QR", "https://hq.example/consent?v=01HZX", "QR_CODE", encodeWith(t, qrcode.NewQRCodeWriter(), "https://hq.example/consent?v=01HZX", gozxing.BarcodeFormat_QR_CODE, 200, 200, 0)},
		{"QR chinese", "高血压随访", "QR_CODE", nil},
		{"DataMatrix", "010690123456789217260531", "DATA_MATRIX", encodeWith(t, datamatrix.NewDataMatrixWriter(), "010690123456789217260531", gozxing.BarcodeFormat_DATA_MATRIX, 120, 120, 16)},
		{"EAN-13", "6901234567892", "EAN_13", encodeWith(t, oned.NewEAN13Writer(), "6901234567892", gozxing.BarcodeFormat_EAN_13, 300, 100, 20)},
		{"EAN-8", "96385074", "EAN_8", encodeWith(t, oned.NewEAN8Writer(), "96385074", gozxing.BarcodeFormat_EAN_8, 200, 80, 20)},
		{"Code 128", "STAFF-0042", "CODE_128", encodeWith(t, oned.NewCode128Writer(), "STAFF-0042", gozxing.BarcodeFormat_CODE_128, 300, 80, 20)},
	}
	q, err := EncodeQR("高血压随访", 240)
	if err != nil {
		t.Fatal(err)
	}
	cases[1].img = q
	for _, c := range cases {
		for _, variant := range []string{"rgba", "ycbcr"} {
			t.Run(c.name+"/"+variant, func(t *testing.T) {
				img := c.img
				if variant == "ycbcr" {
					img = toYCbCr(img)
				}
				codes, err := DecodeImage(img)
				if err != nil {
					t.Fatal(err)
				}
				found := false
				for _, code := range codes {
					if code.Format == c.format && code.Text == c.text {
						found = true
					}
				}
				if !found {
					t.Errorf("got %+v, want %s %q", codes, c.format, c.text)
				}
			})
		}
	}
}

// A sub-image of a camera frame (Rect not at the origin) must be read from the right rows.
func TestDecodeImageYCbCrSubImage(t *testing.T) {
	qr, err := EncodeQR("https://hq.example/b/42", 160)
	if err != nil {
		t.Fatal(err)
	}
	canvas := image.NewRGBA(image.Rect(0, 0, 400, 300))
	draw.Draw(canvas, canvas.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(200, 100, 360, 260), qr, image.Point{}, draw.Src)
	y := toYCbCr(canvas)
	sub := y.SubImage(image.Rect(180, 80, 380, 290)).(*image.YCbCr)
	codes, err := DecodeImage(sub)
	if err != nil || len(codes) != 1 || codes[0].Text != "https://hq.example/b/42" {
		t.Errorf("sub-image: %+v %v", codes, err)
	}
}

func TestDecodeImageNoCode(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 100, 100))
	codes, err := DecodeImage(blank)
	if err != nil || len(codes) != 0 || codes == nil {
		t.Errorf("blank: %+v %v", codes, err)
	}
	if _, err := DecodeImage(nil); !errors.Is(err, ErrNoImage) {
		t.Errorf("nil: %v", err)
	}
	if _, err := DecodeImage(image.NewGray(image.Rect(0, 0, 0, 0))); !errors.Is(err, ErrNoImage) {
		t.Errorf("empty: %v", err)
	}
	if _, err := EncodeQR("", 100); err == nil {
		t.Error("EncodeQR accepted empty text")
	}
	img, err := EncodeQR("https://hq.example/x", 0)
	if err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("default size: %v %v", img.Bounds(), err)
	}
}

// A DataMatrix (or QR) cropped right at its edge has no quiet zone, which the gozxing
// detectors need; DecodeImage retries with one added. (The symbol is drawn at 4 px per module,
// as a camera crop or a printed label would give.)
func TestDecodeImageWithoutQuietZone(t *testing.T) {
	for _, c := range []struct {
		w    gozxing.Writer
		f    gozxing.BarcodeFormat
		text string
	}{
		{datamatrix.NewDataMatrixWriter(), gozxing.BarcodeFormat_DATA_MATRIX, "0106901234567892"},
		{datamatrix.NewDataMatrixWriter(), gozxing.BarcodeFormat_DATA_MATRIX, "010690123456789217260531" + "10ABCDEF\x1d21XYZ123"},
		{qrcode.NewQRCodeWriter(), gozxing.BarcodeFormat_QR_CODE, "https://hq.example/c"},
	} {
		hints := map[gozxing.EncodeHintType]interface{}{gozxing.EncodeHintType_MARGIN: 0}
		m, err := c.w.Encode(c.text, c.f, 0, 0, hints)
		if err != nil {
			t.Fatal(err)
		}
		codes, err := DecodeImage(scaleGray(bitMatrixImage(m, 0), 4))
		if err != nil || len(codes) != 1 || codes[0].Text != c.text {
			t.Errorf("%v without quiet zone: %+v %v", c.f, codes, err)
		}
	}
}

// scaleGray enlarges g k times (nearest neighbour).
func scaleGray(g *image.Gray, k int) *image.Gray {
	b := g.Bounds()
	o := image.NewGray(image.Rect(0, 0, b.Dx()*k, b.Dy()*k))
	for y := 0; y < b.Dy()*k; y++ {
		for x := 0; x < b.Dx()*k; x++ {
			o.Pix[y*o.Stride+x] = g.Pix[(y/k)*g.Stride+x/k]
		}
	}
	return o
}
