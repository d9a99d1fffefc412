package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pharmachain/counter/devices"
)

func TestDecodeImageVerb(t *testing.T) {
	dir := t.TempDir()
	qr, err := devices.EncodeQR("https://hq.example/booking/42", 200)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "booking.png")
	f, _ := os.Create(good)
	if err := png.Encode(f, qr); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out, errb bytes.Buffer
	if err := runDecodeImage(context.Background(), []string{good}, &out, &errb); err != nil {
		t.Fatalf("err %v", err)
	}
	var l map[string]string
	if err := json.Unmarshal(out.Bytes(), &l); err != nil {
		t.Fatalf("not one JSON line: %q", out.String())
	}
	if l["file"] != good || l["format"] != "QR_CODE" || l["text"] != "https://hq.example/booking/42" {
		t.Errorf("line %v", l)
	}

	// Bad files get an error line each, and the verb fails; good files still print.
	notImage := filepath.Join(dir, "notes.txt")
	os.WriteFile(notImage, []byte("hello"), 0o600)
	blank := filepath.Join(dir, "blank.png")
	bf, _ := os.Create(blank)
	png.Encode(bf, devicesBlank())
	bf.Close()
	out.Reset()
	err = runDecodeImage(context.Background(), []string{notImage, good, filepath.Join(dir, "missing.png"), blank}, &out, &errb)
	if err == nil || !strings.Contains(err.Error(), "3 of 4 files") || errors.Is(err, errUsage) {
		t.Errorf("err %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("lines %q", lines)
	}
	for i, want := range []string{"not a PNG, JPEG or GIF", "QR_CODE", "no such file", "no code found"} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d %q, want %q", i, lines[i], want)
		}
	}
	if err := runDecodeImage(context.Background(), nil, &out, &errb); !errors.Is(err, errUsage) {
		t.Errorf("no files: %v", err)
	}
}

func devicesBlank() *image.Gray { return image.NewGray(image.Rect(0, 0, 64, 64)) }
