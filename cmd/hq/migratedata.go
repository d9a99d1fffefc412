package main

import (
	"context"
	"fmt"
	"io"
)

// runMigrateData: `hq migrate-data --from DIR --db URL` (placeholder until the export
// area lands).
func runMigrateData(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: migrate-data is not available yet", errUsage)
}
