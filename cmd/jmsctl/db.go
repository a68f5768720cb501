package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

func newDBCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "The database: status, migrations, a move to PostgreSQL",
		Long: `The store lives in jms.db in the data directory (SQLite, the default) or in
the PostgreSQL database named by the database setting (jms.yaml, env
JMS_DATABASE, or --database), which every serve node of a cluster shares.`,
		Example: `  jmsctl db status
  jmsctl db migrate
  jmsctl db copy --from sqlite://./jms-data/jms.db --to 'postgres://jms@db1/jms?sslmode=verify-full'`,
	}
	cmd.AddCommand(newDBStatusCmd(a), newDBMigrateCmd(a), newDBCopyCmd(a))
	return cmd
}

// storeLocation is where the configured store lives; a SQLite file must
// exist (made by init or serve).
func (a *app) storeLocation() (string, error) {
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	if cfg.EmbeddedDB() && !isInitialised(cfg) {
		return "", fmt.Errorf("no jms data in %s (run 'jmsctl init' or 'jmsctl serve', or pass --data-dir or --database)", cfg.DataDir)
	}
	return cfg.StoreLocation(), nil
}

func newDBStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the engine, its version and the migrations applied and pending",
		Long: `status shows where the store lives (a URL's password hidden), the engine and
its server version, the schema version, and the migrations applied and
pending. It changes nothing: unlike every other command it does not apply
pending migrations, and it needs no secret key.`,
		Example: `  jmsctl db status
  jmsctl db status -o json
  JMS_DATABASE='postgres://jms@db1/jms?sslmode=verify-full' jmsctl db status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			where, err := a.storeLocation()
			if err != nil {
				return err
			}
			st, err := store.InspectDB(cmd.Context(), where)
			if err != nil {
				return err
			}
			return renderOne(a.listing(), st, []column[store.DBStatus]{
				{"engine", func(s store.DBStatus) string { return string(s.Engine) }},
				{"location", func(s store.DBStatus) string { return s.Location }},
				{"server_version", func(s store.DBStatus) string { return s.ServerVersion }},
				{"schema_version", func(s store.DBStatus) string { return strconv.Itoa(s.Version) }},
				{"applied", func(s store.DBStatus) string { return strconv.Itoa(len(s.Applied)) }},
				{"pending", func(s store.DBStatus) string { return listOrNone(s.Pending) }},
			})
		},
	}
}

func newDBMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending migrations",
		Long: `migrate applies the migrations this jmsctl knows and the database lacks, in
one transaction. Every command (serve included) does this when it opens the
store; migrate does it on purpose, e.g. before a rolling upgrade of a
cluster. On PostgreSQL it holds an advisory lock, so nodes that start
together take turns and each migration is applied once.`,
		Example: `  jmsctl db migrate
  jmsctl --database 'postgres://jms@db1/jms?sslmode=verify-full' db migrate`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			where, err := a.storeLocation()
			if err != nil {
				return err
			}
			before, after, err := store.MigrateDB(cmd.Context(), where, nil)
			if err != nil {
				return err
			}
			if len(before.Pending) == 0 {
				fmt.Fprintf(a.stdout, "Nothing to migrate: %s is at schema version %d\n", after.Location, after.Version)
				return nil
			}
			fmt.Fprintf(a.stdout, "Applied %s (%s): %s is at schema version %d\n",
				plural(len(before.Pending), "migration"), strings.Join(before.Pending, ", "), after.Location, after.Version)
			return nil
		},
	}
}

func newDBCopyCmd(a *app) *cobra.Command {
	var from, to string
	var force bool
	cmd := &cobra.Command{
		Use:   "copy --to DATABASE [--from DATABASE] [--force]",
		Short: "Copy every table into another database (move to PostgreSQL)",
		Long: `copy moves a single-node install to another database, typically from its
SQLite file to PostgreSQL: both are brought to this jmsctl's schema, then
every table is copied with its ids in one transaction on the target, the
target's id sequences are moved past the copied ids, and each table's row
count and checksum on the target are checked against the source's before
the commit. Any difference, or any error, and the target is left as it was.

The target must be empty unless --force, which replaces its data. --from
defaults to jms.db in the data directory. Stop 'jmsctl serve' first. The
copy keeps sealed secrets as they are: the nodes on the target need this
data directory's secret.key. Then set 'database:' in jms.yaml (or
JMS_DATABASE) to the target. The URL takes no password here (the command
line is visible to every user of the machine): keep it in a passfile
(PGPASSFILE, default ~/.pgpass).`,
		Example: `  jmsctl db copy --to 'postgres://jms@db1/jms?sslmode=verify-full'
  jmsctl db copy --from sqlite://./jms-data/jms.db --to 'postgres://jms@db1/jms?sslmode=verify-full'
  jmsctl db copy --to 'postgres://jms@db1/jms' --force -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			cfg, err := a.config()
			if err != nil {
				return err
			}
			if from == "" {
				from = cfg.DBPath()
			}
			for name, v := range map[string]string{"--from": from, "--to": to} {
				if err := noPasswordInArgs(name, v); err != nil {
					return err
				}
			}
			rep, err := store.CopyDB(ctx, from, to, store.CopyOptions{Force: force})
			if err != nil {
				return err
			}
			if err := render(a.listing(), rep.Tables, []column[store.TableCopy]{
				{"table", func(t store.TableCopy) string { return t.Table }},
				{"rows", func(t store.TableCopy) string { return strconv.FormatInt(t.Rows, 10) }},
				{"checksum", func(t store.TableCopy) string { return t.Checksum }},
			}); err != nil {
				return err
			}
			fmt.Fprintf(a.stderr, "Copied %d rows in %d tables from %s to %s (schema version %d); counts and checksums match.\n",
				rep.Rows, len(rep.Tables), rep.From, rep.To, rep.Schema)
			fmt.Fprintf(a.stderr, "Next: set database: in %s (or JMS_DATABASE) to the target, and give every node this secret.key.\n", "jms.yaml")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the source database (default: jms.db in the data directory)")
	cmd.Flags().StringVar(&to, "to", "", "the target database, e.g. postgres://jms@db1/jms?sslmode=verify-full")
	cmd.Flags().BoolVar(&force, "force", false, "replace the data of a target that holds some")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// noPasswordInArgs refuses a database URL with a password on the
// command line, where every user of the machine can read it.
func noPasswordInArgs(flag, where string) error {
	loc, err := store.ParseLocation(where)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	if loc.HasPassword() {
		return errors.New(flag + ": the URL holds a password, which the command line shows to every user of this machine: " +
			"put it in a passfile (PGPASSFILE, default ~/.pgpass) or in PGPASSWORD, and leave it out of the URL")
	}
	return nil
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
