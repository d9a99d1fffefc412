// Command icongen draws the kiosk's application icon (assets/data/icon.png, 512×512):
// a green pharmacy cross on a rounded white tile with a red/white capsule in front.
// It uses only image/draw so the icon can be regenerated anywhere:
//
//	go run ./kiosk/internal/icongen -o assets/data/icon.png
package main

import (
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
)

func main() {
	out := flag.String("o", "assets/data/icon.png", "output PNG file")
	size := flag.Int("size", 512, "width and height in pixels")
	flag.Parse()
	if err := write(*out, *size); err != nil {
		fmt.Fprintln(os.Stderr, "icongen:", err)
		os.Exit(1)
	}
}

func write(path string, size int) error {
	if size < 16 || size > 4096 {
		return fmt.Errorf("size %d: want 16..4096", size)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create icon: %w", err)
	}
	if err := png.Encode(f, Draw(size)); err != nil {
		f.Close()
		return fmt.Errorf("encode icon: %w", err)
	}
	return f.Close()
}

// Draw renders the icon at size×size.
func Draw(size int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	s := float64(size)
	green := color.NRGBA{0x0b, 0x8a, 0x4a, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	red := color.NRGBA{0xd3, 0x2f, 0x2f, 0xff}
	outline := color.NRGBA{0x1f, 0x2d, 0x3d, 0xff}

	// Rounded green tile.
	fill(img, func(x, y float64) bool { return inRoundRect(x, y, 0.03*s, 0.03*s, 0.97*s, 0.97*s, 0.18*s) }, green)
	// White cross.
	arm, half := 0.17*s, 0.34*s
	c := 0.46 * s
	fill(img, func(x, y float64) bool {
		return inRoundRect(x, y, c-arm, c-half, c+arm, c+half, 0.04*s) ||
			inRoundRect(x, y, c-half, c-arm, c+half, c+arm, 0.04*s)
	}, white)
	// Capsule, rotated 45°, lower right: outline, then red and white halves.
	cx, cy, l, r := 0.70*s, 0.70*s, 0.20*s, 0.10*s
	ang := -math.Pi / 4
	capsule := func(x, y, grow float64) (bool, float64) {
		dx, dy := x-cx, y-cy
		u := dx*math.Cos(ang) + dy*math.Sin(ang)
		v := -dx*math.Sin(ang) + dy*math.Cos(ang)
		cu := math.Max(-l, math.Min(l, u))
		return math.Hypot(u-cu, v) <= r+grow, u
	}
	fill(img, func(x, y float64) bool { in, _ := capsule(x, y, 0.02*s); return in }, outline)
	fill(img, func(x, y float64) bool { in, u := capsule(x, y, 0); return in && u < 0 }, red)
	fill(img, func(x, y float64) bool { in, u := capsule(x, y, 0); return in && u >= 0 }, white)
	return img
}

// fill paints every pixel whose centre satisfies in, with 4×4 supersampling for smooth edges.
func fill(img *image.NRGBA, in func(x, y float64) bool, c color.NRGBA) {
	b := img.Bounds()
	for py := b.Min.Y; py < b.Max.Y; py++ {
		for px := b.Min.X; px < b.Max.X; px++ {
			n := 0
			for sy := 0; sy < 4; sy++ {
				for sx := 0; sx < 4; sx++ {
					if in(float64(px)+(float64(sx)+0.5)/4, float64(py)+(float64(sy)+0.5)/4) {
						n++
					}
				}
			}
			if n == 0 {
				continue
			}
			a := float64(n) / 16
			src := image.NewUniform(color.NRGBA{c.R, c.G, c.B, uint8(float64(c.A) * a)})
			draw.Draw(img, image.Rect(px, py, px+1, py+1), src, image.Point{}, draw.Over)
		}
	}
}

func inRoundRect(x, y, x0, y0, x1, y1, rad float64) bool {
	if x < x0 || x > x1 || y < y0 || y > y1 {
		return false
	}
	cx := math.Max(x0+rad, math.Min(x1-rad, x))
	cy := math.Max(y0+rad, math.Min(y1-rad, y))
	return math.Hypot(x-cx, y-cy) <= rad
}
