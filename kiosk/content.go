package kiosk

import (
	"fmt"
	"log/slog"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/kiosk/counter"
)

// startContent loads the content the counter starts on, before any network: the
// content built into the kiosk (version 0) and the pack HQ last sent, kept in the data
// directory (counter.StartContent). A kept pack that no longer loads is logged and the
// built-in content used; the next sync fetches HQ's pack again.
func startContent(dataDir string, log *slog.Logger) (embedded, inUse counter.Content, etag string, err error) {
	p, err := content.FromFS(assets.FS())
	if err != nil {
		return counter.Content{}, counter.Content{}, "", fmt.Errorf("built-in content: %w", err)
	}
	dom, err := p.Validate()
	if err != nil {
		return counter.Content{}, counter.Content{}, "", fmt.Errorf("built-in content: %w", err)
	}
	embedded = counter.Content{Version: content.DefaultVersion, Hash: p.Hash(), Data: dom}
	inUse, etag, problem := counter.StartContent(dataDir, embedded)
	if problem != nil {
		log.Warn("the kept content pack does not load: running the built-in content until HQ sends it again", "err", problem)
	}
	if inUse.Version != content.DefaultVersion {
		log.Info("content pack kept from HQ", "version", inUse.Version, "hash", inUse.Hash)
	}
	return embedded, inUse, etag, nil
}
