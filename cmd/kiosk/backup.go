package main

import (
	"context"
	"fmt"
	"io"
)

// runBackup is not written yet (placeholder owned by the helper building it).
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: not implemented yet", errUsage)
}
