package main

import (
	"context"
	"fmt"
	"io"
)

// runApp is not written yet (placeholder owned by the helper building it).
func runApp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return fmt.Errorf("%w: not implemented yet", errUsage)
}
