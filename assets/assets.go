// Package assets embeds the defaults a kiosk and HQ need with no setup: the knowledge
// base, questionnaires, drug catalog, points rules, follow-up messages, fonts,
// translations and the icon.
// Each can be overridden from a file by the caller.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed all:data
var data embed.FS

// FS returns the embedded asset tree (the contents of assets/data).
func FS() fs.FS {
	sub, err := fs.Sub(data, "data")
	if err != nil { // cannot happen: "data" is a literal embedded directory
		return data
	}
	return sub
}

// Read returns one embedded file, e.g. Read("knowledge/kb.json").
func Read(name string) ([]byte, error) { return fs.ReadFile(FS(), name) }
