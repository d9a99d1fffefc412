package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/pharmachain/counter/devices"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/api"
	"github.com/pharmachain/counter/sync/hq/boltstore"
	"github.com/pharmachain/counter/sync/hq/followup"
)

// PathCustomer is the admin route that deletes one customer's data (PIPL art. 47).
const PathCustomer = "/api/v1/customers/{customer_key}"

// forgetHandler serves DELETE /api/v1/customers/{customer_key} for admins.
func forgetHandler(st *boltstore.Store, fu *followup.Store) api.AuthedHandler {
	return func(w http.ResponseWriter, r *http.Request, p hq.Principal) {
		if !p.Admin {
			api.WriteError(w, http.StatusForbidden, "deleting a customer needs an admin token")
			return
		}
		stats, err := forgetCustomer(r.Context(), st, fu, r.PathValue("customer_key"))
		switch {
		case errors.Is(err, hq.ErrInvalid):
			api.WriteError(w, http.StatusBadRequest, err.Error())
		case err != nil:
			api.WriteError(w, http.StatusInternalServerError, "delete failed; see HQ log")
		default:
			api.WriteJSON(w, http.StatusOK, stats)
		}
	}
}

func forgetCustomer(ctx context.Context, st *boltstore.Store, _ *followup.Store, key string) (hq.ForgetStats, error) {
	return st.ForgetCustomer(ctx, key, time.Now())
}

// runForget: `hq forget (--customer-key K | --id-number N --secret-file F)
// (--hq URL --token ADMIN | --data DIR)` deletes one customer's chain-wide data at HQ:
// through a running HQ's admin route, or directly in a stopped HQ's data directory.
// The ID number is only hashed, never sent or printed.
func runForget(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("forget", stderr)
	key := fs.String("customer-key", "", "the customer key (32 hex), as `kiosk forget` printed it")
	idNumber := fs.String("id-number", "", "the customer's ID number instead (hashed with --secret-file)")
	secretFile := fs.String("secret-file", "", "chain secret file (with --id-number)")
	target := addAdminTarget(fs)
	compact := fs.Bool("compact", false, "with --data: rewrite hq.db without freed pages, so the deleted bytes leave the disk")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*key == "") == (*idNumber == "") {
		return fmt.Errorf("%w: give exactly one of --customer-key or --id-number", errUsage)
	}
	if err := target.check(); err != nil {
		return err
	}
	ck := *key
	if *idNumber != "" {
		if *secretFile == "" {
			return fmt.Errorf("%w: --id-number needs --secret-file", errUsage)
		}
		var err error
		if ck, err = devices.CustomerKeyForID(*secretFile, *idNumber, time.Now()); err != nil {
			return err
		}
	}
	var out []byte
	if !target.online() {
		st, err := target.openExisting()
		if err != nil {
			return err
		}
		fu, err := followup.NewStore(st.DB())
		if err != nil {
			st.Close()
			return err
		}
		stats, err := forgetCustomer(ctx, st, fu, ck)
		st.Close()
		if err != nil {
			return fmt.Errorf("forget: %w", err)
		}
		if *compact {
			if err := boltstore.Compact(filepath.Join(*target.dir, DBFile)); err != nil {
				return fmt.Errorf("forget: compact: %w", err)
			}
		}
		out, _ = json.Marshal(stats)
	} else {
		var err error
		if out, err = target.callJSON(ctx, http.MethodDelete, "/api/v1/customers/"+ck, 2*time.Minute); err != nil {
			return fmt.Errorf("forget: %w", err)
		}
	}
	fmt.Fprintf(stdout, "{\"customer_key\":%q,\"deleted\":%s}\n", ck, strings.TrimSpace(string(out)))
	if !*compact {
		fmt.Fprintln(stderr, "hq: deleted at HQ; to drop the freed pages from the disk, stop HQ and run `hq forget --data DIR --customer-key K --compact`; expire old backups")
	}
	return nil
}
