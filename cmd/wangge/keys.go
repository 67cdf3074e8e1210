package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/wangge/wangge/data"
)

// cliActor names the person at the terminal in the audit log.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("keys", stderr)
	db := fs.String("db", env("db", "wangge.gpkg"), "GeoPackage file or postgres:// URL (WANGGE_DB)")
	role := fs.String("role", "", "create: viewer, field, planner or admin")
	name := fs.String("name", "", "create: what the key is for (a device, a dashboard, a person)")
	worker := fs.String("worker", "", "create: the id of the worker on the roster the key acts for (a field worker's phone); see wangge import workers")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError{errors.New("want create --role ROLE [--name NAME] [--worker ID], list, or revoke ID")}
	}
	store, err := openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	switch pos[0] {
	case "create":
		if len(pos) != 1 {
			return usageError{errors.New("create takes no arguments; use --role and --name")}
		}
		if *role == "" {
			return usageError{errors.New("create needs --role viewer|field|planner|admin")}
		}
		token, k, err := data.CreateKey(ctx, store, cliActor(), data.Role(*role), *name, *worker)
		if err != nil {
			return err
		}
		forWorker := ""
		if k.Worker != "" {
			forWorker = ", for worker " + k.Worker
		}
		fmt.Fprintf(stderr, "created key %s (role %s%s); it is shown this once, store it now:\n", k.ID, k.Role, forWorker)
		fmt.Fprintln(stdout, token)
	case "list":
		keys, err := store.Keys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tROLE\tNAME\tWORKER\tCREATED\tREVOKED")
		for _, k := range keys {
			revoked := "-"
			if !k.RevokedAt.IsZero() {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			worker := "-"
			if k.Worker != "" {
				worker = k.Worker
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, k.Name, worker, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	case "revoke":
		if len(pos) != 2 {
			return usageError{errors.New("revoke takes one key id (see wangge keys list)")}
		}
		id := pos[1]
		// Revoking a key revoked already changes and records nothing; the
		// answer is the same.
		if _, err := data.RevokeKey(ctx, store, cliActor(), id, time.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked key %s; every running server refuses it within %s\n", id, "1s")
	default:
		return usageError{fmt.Errorf("unknown keys command %q: want create, list or revoke", pos[0])}
	}
	return nil
}
