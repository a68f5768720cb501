package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// dbFlags are the database settings of asset add and asset set.
type dbFlags struct {
	database, tls, tlsCA string
}

func (d *dbFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&d.database, "database", "", "mysql/postgresql: the database sessions start in")
	f.StringVar(&d.tls, "tls", "", "mysql/postgresql: TLS to the server: disable (default), require, verify-ca or verify-full")
	f.StringVar(&d.tlsCA, "tls-ca", "", "mysql/postgresql: the CA file (PEM) for verify-ca and verify-full")
}

func (d *dbFlags) changed(cmd *cobra.Command) bool {
	return len(changedFlags(cmd, "database", "tls", "tls-ca")) > 0
}

// apply returns cur with the flags given on cmd; the CA file's path made
// absolute, since the bastion reads it wherever it runs from.
func (d *dbFlags) apply(cmd *cobra.Command, cur store.AssetDatabase) (store.AssetDatabase, error) {
	f := cmd.Flags()
	if f.Changed("database") {
		cur.Database = d.database
	}
	if f.Changed("tls") {
		cur.TLSMode = d.tls
		if !f.Changed("tls-ca") && d.tls != "verify-ca" && d.tls != "verify-full" {
			cur.TLSCAFile = ""
		}
	}
	if f.Changed("tls-ca") {
		cur.TLSCAFile = d.tlsCA
		if d.tlsCA != "" {
			abs, err := filepath.Abs(d.tlsCA)
			if err != nil {
				return cur, fmt.Errorf("--tls-ca: %w", err)
			}
			cur.TLSCAFile = abs
		}
	}
	return cur, nil
}

// setAssetDatabase changes the database settings of the asset called
// name by the flags given on cmd.
func (d *dbFlags) set(ctx context.Context, cmd *cobra.Command, s *store.Store, name string) error {
	x, err := s.GetAsset(ctx, name)
	if err != nil {
		return err
	}
	cur := store.AssetDatabase{TLSMode: "disable"}
	if x.Database != nil {
		cur = *x.Database
	}
	next, err := d.apply(cmd, cur)
	if err != nil {
		return err
	}
	return s.SetAssetDatabase(ctx, name, next)
}

// databaseLine shows a database asset's settings in one line.
func databaseLine(d *store.AssetDatabase) string {
	if d == nil {
		return ""
	}
	db := d.Database
	if db == "" {
		db = "(the account's default)"
	}
	out := db + ", TLS " + d.TLSMode
	if d.TLSCAFile != "" {
		out += " (CA " + d.TLSCAFile + ")"
	}
	return out
}

// withoutHostKey drops the host key rows of asset show.
func withoutHostKey(fields []column[store.Asset]) []column[store.Asset] {
	out := fields[:0:0]
	for _, f := range fields {
		if f.name != "host_key" && f.name != "host_key_pinned_at" {
			out = append(out, f)
		}
	}
	return out
}
