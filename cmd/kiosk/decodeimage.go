package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/gif" // register decoders for decode-image
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	"github.com/pharmachain/counter/devices"
)

// decodeImageLine is one JSON line of `kiosk decode-image`.
type decodeImageLine struct {
	File   string `json:"file"`
	Format string `json:"format,omitempty"`
	Text   string `json:"text,omitempty"`
	Error  string `json:"error,omitempty"`
}

// runDecodeImage implements `kiosk decode-image FILE...`: print the codes (QR, DataMatrix,
// EAN-13/8, Code 128) found in PNG, JPEG or GIF files as JSON lines, one per code, or one line
// with an error per file that cannot be read or holds no code. It fails when any file did.
func runDecodeImage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("decode-image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: kiosk decode-image FILE...")
		fmt.Fprintln(stderr, "Prints {\"file\",\"format\",\"text\"} per code found, or {\"file\",\"error\"}.")
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("%w: decode-image: no image files given", errUsage)
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, name := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		codes, err := decodeImageFile(name)
		if err == nil && len(codes) == 0 {
			err = errors.New("no code found")
		}
		if err != nil {
			failed++
			if werr := enc.Encode(decodeImageLine{File: name, Error: err.Error()}); werr != nil {
				return fmt.Errorf("decode-image: write output: %w", werr)
			}
			continue
		}
		for _, c := range codes {
			if werr := enc.Encode(decodeImageLine{File: name, Format: c.Format, Text: c.Text}); werr != nil {
				return fmt.Errorf("decode-image: write output: %w", werr)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("decode-image: %d of %d files gave no code", failed, fs.NArg())
	}
	return nil
}

func decodeImageFile(name string) ([]devices.Code, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("not a PNG, JPEG or GIF image: %w", err)
	}
	return devices.DecodeImage(img)
}
