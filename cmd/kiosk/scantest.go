package main

import (
	"context"
	"fmt"
	"io"
)

// runScanTest is not written yet (placeholder owned by the helper building it).
func runScanTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: not implemented yet", errUsage)
}
