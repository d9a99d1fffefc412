package devices

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Code is one code found in an image.
type Code struct {
	Format string `json:"format"` // QR_CODE, DATA_MATRIX, EAN_13, EAN_8, CODE_128
	Text   string `json:"text"`
}

// ErrNoImage is returned by DecodeImage for a nil or empty image.
const ErrNoImage = sentinel("no image (nil or empty)")

// DecodeImage finds codes in an image: QR, DataMatrix, EAN-13, EAN-8 and Code 128, trying each
// reader in turn (gozxing has no multi-format reader). A *image.YCbCr (camera frame) is read
// from its Y plane directly, which is several times faster. Any reader error means "no code of
// that format"; an image without codes gives an empty slice and a nil error.
func DecodeImage(img image.Image) ([]Code, error) {
	if img == nil || img.Bounds().Empty() {
		return nil, ErrNoImage
	}
	src, err := luminance(img)
	if err != nil {
		return nil, err
	}
	out, err := decodeSource(src, []gozxing.Reader{
		qrcode.NewQRCodeReader(),
		datamatrix.NewDataMatrixReader(),
		oned.NewEAN13Reader(),
		oned.NewEAN8Reader(),
		oned.NewCode128Reader(),
	})
	if err != nil || len(out) > 0 {
		return out, err
	}
	// Nothing found: a tightly cropped 2-D code has no quiet zone, which the QR and
	// DataMatrix detectors need. Retry those on a copy with a white border.
	return decodeSource(gozxing.NewLuminanceSourceFromImage(withQuietZone(img)),
		[]gozxing.Reader{qrcode.NewQRCodeReader(), datamatrix.NewDataMatrixReader()})
}

// withQuietZone returns a grey copy of img with a white border of 1/8 of its larger side.
func withQuietZone(img image.Image) *image.Gray {
	b := img.Bounds()
	q := max(b.Dx(), b.Dy())/8 + 4
	g := image.NewGray(image.Rect(0, 0, b.Dx()+2*q, b.Dy()+2*q))
	draw.Draw(g, g.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(g, image.Rect(q, q, q+b.Dx(), q+b.Dy()), img, b.Min, draw.Src)
	return g
}

func decodeSource(src gozxing.LuminanceSource, readers []gozxing.Reader) ([]Code, error) {
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	var out []Code
	seen := map[Code]bool{}
	for _, rd := range readers {
		res, err := decodeSafe(rd, bmp, hints)
		if err != nil || res == nil {
			continue
		}
		c := Code{Format: res.GetBarcodeFormat().String(), Text: res.GetText()}
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	if out == nil {
		out = []Code{}
	}
	return out, nil
}

// decodeSafe runs one reader; a panic inside gozxing on odd input counts as "no code".
func decodeSafe(rd gozxing.Reader, bmp *gozxing.BinaryBitmap, hints map[gozxing.DecodeHintType]interface{}) (res *gozxing.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("reader failed: %v", p)
		}
	}()
	return rd.Decode(bmp, hints)
}

func luminance(img image.Image) (gozxing.LuminanceSource, error) {
	if y, ok := img.(*image.YCbCr); ok {
		b := y.Rect
		// The Y plane is addressed from Rect.Min with stride YStride.
		off := y.YOffset(b.Min.X, b.Min.Y)
		dataH := (len(y.Y) - off + y.YStride - 1) / y.YStride
		src, err := gozxing.NewPlanarYUVLuminanceSource(y.Y[off:], y.YStride, dataH, 0, 0, b.Dx(), b.Dy(), false)
		if err != nil {
			return nil, fmt.Errorf("decode image: Y plane: %w", err)
		}
		return src, nil
	}
	return gozxing.NewLuminanceSourceFromImage(img), nil
}

// EncodeQR renders text (a URL) as a QR code image of about size×size pixels (at least the
// symbol size), black on white with the standard quiet zone and error correction level M.
func EncodeQR(text string, size int) (image.Image, error) {
	if text == "" {
		return nil, errors.New("encode QR: empty text")
	}
	if size <= 0 {
		size = 256
	}
	hints := map[gozxing.EncodeHintType]interface{}{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_CHARACTER_SET:    "UTF-8",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, hints)
	if err != nil {
		return nil, fmt.Errorf("encode QR: %w", err)
	}
	return bitMatrixImage(m, 0), nil
}

// bitMatrixImage converts a BitMatrix to a grey image, adding a white border of quiet modules
// (pixels) around it.
func bitMatrixImage(m *gozxing.BitMatrix, quiet int) *image.Gray {
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w+2*quiet, h+2*quiet))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if m.Get(x, y) {
				img.SetGray(x+quiet, y+quiet, color.Gray{Y: 0})
			}
		}
	}
	return img
}
