package main

import (
	"fmt"
	"os"

	"github.com/pharmachain/counter/assets"
	"github.com/pharmachain/counter/flows"
	"github.com/pharmachain/counter/flows/content"
)

// domainData loads HQ's domain data through the one loader (flows.ParseData): the files
// embedded in this binary, with the catalog and the points rules replaced by the files
// of --catalog and --points when given. An override is checked like any content pack,
// against the other files too (a knowledge-base product code missing from the catalog
// is refused).
func domainData(catalogFile, pointsFile string) (flows.Data, error) {
	files, err := flows.ReadDataFiles(assets.FS())
	if err != nil {
		return flows.Data{}, fmt.Errorf("embedded data: %w", err)
	}
	var given []string
	for name, file := range map[string]string{flows.CatalogFile: catalogFile, flows.PointsFile: pointsFile} {
		if file == "" {
			continue
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return flows.Data{}, fmt.Errorf("read %s: %w", name, err)
		}
		files[name] = b
		given = append(given, fmt.Sprintf("%s from %s", name, file))
	}
	d, err := flows.ParseData(files)
	if err != nil {
		if len(given) > 0 {
			return flows.Data{}, fmt.Errorf("domain data (%v): %w", given, err)
		}
		return flows.Data{}, fmt.Errorf("embedded domain data: %w", err)
	}
	return d, nil
}

// embeddedContent is content version 0: the pack embedded in this binary (and in the
// kiosks built from the same source).
func embeddedContent() (content.Pack, error) {
	p, err := content.FromFS(assets.FS())
	if err != nil {
		return content.Pack{}, fmt.Errorf("embedded content: %w", err)
	}
	return p, nil
}
