package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pharmachain/counter/flows/content"
	"github.com/pharmachain/counter/sync/hq"
	"github.com/pharmachain/counter/sync/hq/contentadmin"
	"github.com/pharmachain/counter/sync/wire"
)

// runContent: `hq content publish|list|diff|assign …` — content packs (零代码): the
// questionnaires, knowledge base, catalog, points rules and follow-up messages kiosks
// run, as numbered versions assigned to pilot stores or to all. Each sub-verb has its
// own file.
func runContent(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	subs := []verb{
		{"publish", "publish --from DIR [--note TEXT] [--stores S001,S002 | --all]: validate and store a new version, print its number", runContentPublish},
		{"list", "list [--json]: versions with note, author and the stores assigned and running each", runContentList},
		{"diff", "diff A B: what changed from version A to B, per question, recommendation, rule", runContentDiff},
		{"assign", "assign N (--stores S001,S002 | --all): run version N there (rollback: an older N; 0 = embedded)", runContentAssign},
	}
	if len(args) > 0 {
		for _, v := range subs {
			if v.name == args[0] {
				return v.run(ctx, args[1:], stdout, stderr)
			}
		}
	}
	fmt.Fprintln(stderr, "usage: hq content VERB (--hq URL --token ADMIN | --data DIR) …")
	for _, v := range subs {
		fmt.Fprintf(stderr, "  %-8s %s\n", v.name, v.usage)
	}
	if len(args) == 0 {
		return fmt.Errorf("%w: hq content needs a verb", errUsage)
	}
	return fmt.Errorf("%w: unknown content verb %q", errUsage, args[0])
}

// contentOps is what the content verbs do, on a running HQ or on a stopped HQ's data.
type contentOps interface {
	Publish(ctx context.Context, req wire.ContentPublishRequest) (content.Version, error)
	List(ctx context.Context) (wire.ContentListResponse, error)
	Diff(ctx context.Context, from, to int) (content.Diff, error)
	Assign(ctx context.Context, req wire.ContentAssignRequest) error
}

// openContent returns the operations of the target (check it first) and a function
// that releases it.
func openContent(ctx context.Context, target adminTarget, actor string) (contentOps, func(), error) {
	if target.online() {
		return remoteContent{base: strings.TrimRight(*target.base, "/"), token: *target.token, hc: &http.Client{Timeout: 2 * time.Minute}}, func() {}, nil
	}
	st, err := target.openExisting(ctx)
	if err != nil {
		return nil, nil, err
	}
	def, err := embeddedContent()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return localContent{svc: contentadmin.New(st, def, nil), actor: actor}, func() { st.Close() }, nil
}

// localContent works on a stopped HQ's store (--data DIR), through the service the
// running HQ uses.
type localContent struct {
	svc   *contentadmin.Service
	actor string
}

func (l localContent) Publish(ctx context.Context, req wire.ContentPublishRequest) (content.Version, error) {
	if req.Author == "" {
		req.Author = l.actor
	}
	return l.svc.Publish(ctx, req)
}

func (l localContent) List(ctx context.Context) (wire.ContentListResponse, error) {
	return l.svc.List(ctx)
}

func (l localContent) Diff(ctx context.Context, from, to int) (content.Diff, error) {
	return l.svc.Diff(ctx, from, to)
}

func (l localContent) Assign(ctx context.Context, req wire.ContentAssignRequest) error {
	return l.svc.Assign(ctx, req, l.actor)
}

// remoteContent works through a running HQ's admin API (--hq URL --token ADMIN).
type remoteContent struct {
	base, token string
	hc          *http.Client
}

func (r remoteContent) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read HQ's answer: %w", err)
	}
	if resp.StatusCode == http.StatusBadRequest {
		var pr wire.ContentProblemsResponse
		if json.Unmarshal(raw, &pr) == nil && len(pr.Problems) > 0 {
			return &contentadmin.ValidationError{Problems: pr.Problems}
		}
	}
	if resp.StatusCode/100 != 2 {
		var er wire.ErrorResponse
		if json.Unmarshal(raw, &er) == nil && er.Error != "" {
			return fmt.Errorf("HQ answered %s: %s", resp.Status, er.Error)
		}
		return fmt.Errorf("HQ answered %s: %s", resp.Status, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("HQ's answer: %w", err)
		}
	}
	return nil
}

func (r remoteContent) Publish(ctx context.Context, req wire.ContentPublishRequest) (content.Version, error) {
	var out wire.ContentPublishResponse
	err := r.do(ctx, http.MethodPost, wire.PathContentVersions, req, &out)
	return out.Version, err
}

func (r remoteContent) List(ctx context.Context) (wire.ContentListResponse, error) {
	var out wire.ContentListResponse
	err := r.do(ctx, http.MethodGet, wire.PathContentVersions, nil, &out)
	return out, err
}

func (r remoteContent) Diff(ctx context.Context, from, to int) (content.Diff, error) {
	var out content.Diff
	q := url.Values{"from": {strconv.Itoa(from)}, "to": {strconv.Itoa(to)}}
	err := r.do(ctx, http.MethodGet, wire.PathContentDiff+"?"+q.Encode(), nil, &out)
	return out, err
}

func (r remoteContent) Assign(ctx context.Context, req wire.ContentAssignRequest) error {
	return r.do(ctx, http.MethodPost, wire.PathContentAssign, req, nil)
}

// storesFlag adds --stores and --all; where returns the stores (nil with --all) after
// checking that exactly one was given.
func storesFlag(fs *flag.FlagSet, optional bool) func() (stores []string, all bool, err error) {
	list := fs.String("stores", "", "comma-separated store ids (pilot stores), e.g. S001,S002")
	all := fs.Bool("all", false, "every store")
	return func() ([]string, bool, error) {
		var ids []string
		for _, s := range strings.Split(*list, ",") {
			if s = strings.TrimSpace(s); s != "" {
				ids = append(ids, s)
			}
		}
		switch {
		case *all && len(ids) > 0:
			return nil, false, fmt.Errorf("%w: give --stores or --all, not both", errUsage)
		case !*all && len(ids) == 0 && !optional:
			return nil, false, fmt.Errorf("%w: give --stores S001,S002 or --all", errUsage)
		}
		return ids, *all, nil
	}
}

// actorFlag adds --author: who publishes or assigns when working on --data (with --hq
// the admin token's label is used unless --author is given).
func actorFlag(fs *flag.FlagSet) *string {
	return fs.String("author", "", "who publishes or assigns (default: the admin token's label with --hq, else hq-cli:$USER)")
}

func actorName(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	u := os.Getenv("USER")
	if u == "" {
		u = "cli"
	}
	return "hq-cli:" + u
}

// parseWithArgs parses flags that may come before, between or after the positional
// arguments (hq content diff 1 2 --data DIR) and returns the positional ones.
func parseWithArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// printProblems writes every problem of a refused pack on its own line.
func printProblems(err error, stderr io.Writer) error {
	var ve *contentadmin.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	fmt.Fprintf(stderr, "hq: the content pack was refused (%d problem(s)); nothing was published:\n", len(ve.Problems))
	for _, p := range ve.Problems {
		fmt.Fprintln(stderr, "  "+p.Error())
	}
	return fmt.Errorf("content pack refused: %w", hq.ErrInvalid)
}
