package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/wire"
)

// runContentPublish: `hq content publish --from DIR [--note TEXT] [--stores S001,S002 |
// --all] (--hq URL --token ADMIN | --data DIR)`. DIR is laid out like assets/data and may
// hold only the changed files: the others are taken from the latest version. The pack
// is validated by the kiosk's own loader; a refused pack prints every problem (file and
// field) and publishes nothing. Prints the new version number on stdout.
func runContentPublish(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("content publish", stderr)
	target := addAdminTarget(fs)
	from := fs.String("from", "", "folder with the content files (laid out like assets/data; missing files come from the latest version)")
	note := fs.String("note", "", "what changed and why (shown in the version list)")
	where := storesFlag(fs, true)
	author := actorFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if err := target.check(); err != nil {
		return err
	}
	if *from == "" {
		return fmt.Errorf("%w: --from DIR is required", errUsage)
	}
	stores, all, err := where()
	if err != nil {
		return err
	}
	pack, err := content.FromDir(*from)
	if err != nil {
		return fmt.Errorf("content publish: %w", err)
	}
	if pack.Len() == 0 {
		return fmt.Errorf("content publish: %s holds no content files (catalog/, questionnaires/, knowledge/, rules/, messages/)", *from)
	}
	req := wire.ContentPublishRequest{Files: map[string]string{}, Note: *note, Stores: stores, All: all, Author: *author}
	for name, b := range pack.Files() {
		req.Files[name] = string(b)
	}
	ops, done, err := openContent(ctx, target, actorName(*author))
	if err != nil {
		return err
	}
	defer done()
	v, err := ops.Publish(ctx, req)
	if err != nil {
		return printProblems(err, stderr)
	}
	switch {
	case all:
		fmt.Fprintf(stderr, "published version %d (%s), assigned to every store\n", v.Number, v.Hash)
	case len(stores) > 0:
		fmt.Fprintf(stderr, "published version %d (%s), assigned to %v\n", v.Number, v.Hash, stores)
	default:
		fmt.Fprintf(stderr, "published version %d (%s), not assigned yet (hq content assign %d --stores … | --all)\n", v.Number, v.Hash, v.Number)
	}
	fmt.Fprintln(stdout, v.Number)
	return nil
}
