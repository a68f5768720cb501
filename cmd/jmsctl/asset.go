package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	gossh "golang.org/x/crypto/ssh"

	"github.com/jms-bastion/jms/store"
)

func assetColumns() []column[store.Asset] {
	return []column[store.Asset]{
		{"name", func(x store.Asset) string { return x.Name }},
		{"address", func(x store.Asset) string { return x.Address }},
		{"port", func(x store.Asset) string { return strconv.Itoa(x.Port) }},
		{"platform", func(x store.Asset) string { return x.Platform }},
		{"node", func(x store.Asset) string { return x.Node }},
		{"labels", func(x store.Asset) string { return formatLabels(x.Labels) }},
		{"comment", func(x store.Asset) string {
			if !x.Active {
				return strings.TrimSpace("(inactive) " + x.Comment)
			}
			return x.Comment
		}},
	}
}

func newAssetCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "asset",
		Short: "Manage the machines people reach through the bastion",
		Example: `  jmsctl asset add web1 --address 10.0.0.5 --node /prod/web --label env=prod
  jmsctl asset list --node /prod --search web
  jmsctl asset import assets.csv --dry-run`,
	}
	cmd.AddCommand(newAssetAddCmd(a), newAssetListCmd(a), newAssetShowCmd(a), newAssetRmCmd(a), newAssetSetCmd(a),
		newAssetTrustCmd(a), newAssetImportCmd(a), newAssetExportCmd(a), newAssetWhoCanCmd(a), newAssetTestCmd(a), newAssetMoveCmd(a))
	cmd.AddCommand(newStateCmds(a, "asset", "web1",
		[2]string{"Let people connect to assets again", "Stop people connecting to assets (same as set --active=false)"},
		func(s *store.Store, ctx context.Context, name string, on bool) error {
			return s.UpdateAsset(ctx, name, store.AssetUpdate{Active: &on})
		})...)
	return cmd
}

// parseLabelFlags reads repeated --label k=v.
func parseLabelFlags(flags []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range flags {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--label %q: want key=value", kv)
		}
		if err := store.ValidLabel(k, v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func newAssetAddCmd(a *app) *cobra.Command {
	var na store.NewAsset
	var labels []string
	var db dbFlags
	cmd := &cobra.Command{
		Use:   "add NAME --address HOST [--port 22] [--platform linux] [--node /a/b] [--label k=v]…",
		Short: "Add an asset",
		Long: `add registers a machine. Names are 1-64 of a-z 0-9 . _ -; the platform is one
of linux, unix, windows, network, database, mysql or postgresql; the node is
a folder of the asset tree (/prod/web), made as needed. Its host key is
pinned at the first connection (see 'asset trust').
A mysql (MySQL, MariaDB) or postgresql asset is a database server: its
accounts are database users with passwords, people reach it through the
bastion's SQL console, and --database and --tls say where sessions start
and how the bastion protects its connection (see docs/databases.md). Its
port defaults to 3306 or 5432.`,
		Example: `  jmsctl asset add web1 --address 10.0.0.5 --node /prod/web --label env=prod --label team=web
  jmsctl asset add sw1 --address sw1.example.com --port 2222 --platform network --comment "core switch"
  jmsctl asset add db1 --platform mysql --address 10.0.0.9 --database app --tls require
  jmsctl asset add pg1 --platform postgresql --address pg.example.com --tls verify-full --tls-ca /etc/jms/pg-ca.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			na.Name = args[0]
			var err error
			if na.Labels, err = parseLabelFlags(labels); err != nil {
				return err
			}
			if cmd.Flags().Changed("port") && na.Port == 0 {
				return &store.FieldError{Field: "port", Err: fmt.Errorf("0 is not a port (1-65535)")}
			}
			if db.changed(cmd) || store.IsDatabasePlatform(na.Platform) {
				settings, err := db.apply(cmd, store.AssetDatabase{})
				if err != nil {
					return err
				}
				na.Database = &settings
			}
			if err := na.Normalize(); err != nil {
				return err
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			x, err := s.AddAsset(ctx, na)
			if err != nil {
				return err
			}
			where := ""
			if x.Node != "" {
				where = " in " + x.Node
			}
			fmt.Fprintf(a.stdout, "Added asset %s (%s:%d, %s)%s\n", x.Name, x.Address, x.Port, x.Platform, where)
			return nil
		},
	}
	cmd.Flags().StringVar(&na.Address, "address", "", "host name or IP address (required)")
	cmd.Flags().IntVar(&na.Port, "port", 0, "port (default 22; mysql 3306, postgresql 5432)")
	cmd.Flags().StringVar(&na.Platform, "platform", "linux", "linux, unix, windows, network, database, mysql or postgresql")
	cmd.Flags().StringVar(&na.Node, "node", "", "node of the asset tree, e.g. /prod/web")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	cmd.Flags().StringVar(&na.Comment, "comment", "", "free text")
	db.add(cmd)
	return cmd
}

func newAssetListCmd(a *app) *cobra.Command {
	var aq store.AssetQuery
	var labels []string
	cmd := &cobra.Command{
		Use:     "list [--node N] [--label k=v]… [--search WORD]",
		Aliases: []string{"ls"},
		Short:   "List assets",
		Long: `list shows assets sorted by name. --node keeps the node and its descendants,
each --label must match, --search keeps assets whose name, address, node,
comment or labels contain the word.`,
		Example: `  jmsctl asset list --node /prod
  jmsctl asset list --label env=prod --search web
  jmsctl asset list -o json | jq '.[].address'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if aq.Labels, err = parseLabelFlags(labels); err != nil {
				return err
			}
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			assets, err := s.ListAssets(cmd.Context(), aq)
			if err != nil {
				return err
			}
			if a.output == "csv" {
				// The import format, so that the listing imports as it is.
				return writeAssets(a.stdout, "csv", importableAssets(assets))
			}
			return render(a.listing(), assets, assetColumns())
		},
	}
	cmd.Flags().StringVar(&aq.Node, "node", "", "only this node and below")
	cmd.Flags().StringArrayVar(&labels, "label", nil, "only assets with label key=value (repeatable)")
	cmd.Flags().StringVar(&aq.Search, "search", "", "only assets matching this word")
	return cmd
}

// importableAssets are assets as an import file holds them.
func importableAssets(assets []store.Asset) []store.NewAsset {
	out := make([]store.NewAsset, len(assets))
	for i, x := range assets {
		out[i] = store.NewAsset{Name: x.Name, Address: x.Address, Port: x.Port, Platform: x.Platform,
			Node: x.Node, Labels: x.Labels, Comment: x.Comment}
	}
	return out
}

func hostKeyLabel(line string) string {
	if line == "" {
		return ""
	}
	pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return "(unreadable)"
	}
	return pk.Type() + " " + gossh.FingerprintSHA256(pk)
}

func newAssetShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show one asset, its pinned host key and its accounts",
		Example: `  jmsctl asset show web1
  jmsctl asset show web1 -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			x, err := s.GetAsset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			accs, err := s.ListAccounts(cmd.Context(), x.Name)
			if err != nil {
				return err
			}
			var names []string
			for _, c := range accs {
				n := c.Username
				if c.Privileged {
					n += " (privileged)"
				}
				names = append(names, n)
			}
			fields := []column[store.Asset]{
				{"name", func(x store.Asset) string { return x.Name }},
				{"address", func(x store.Asset) string { return x.Address }},
				{"port", func(x store.Asset) string { return strconv.Itoa(x.Port) }},
				{"platform", func(x store.Asset) string { return x.Platform }},
				{"database", func(x store.Asset) string { return databaseLine(x.Database) }},
				{"node", func(x store.Asset) string { return x.Node }},
				{"labels", func(x store.Asset) string { return formatLabels(x.Labels) }},
				{"comment", func(x store.Asset) string { return x.Comment }},
				{"active", func(x store.Asset) string { return yesNo(x.Active) }},
				{"host_key", func(x store.Asset) string {
					if x.HostKey == "" {
						return "(not pinned: pinned at the next connection)"
					}
					return hostKeyLabel(x.HostKey)
				}},
				{"host_key_pinned_at", func(x store.Asset) string { return fmtTimePtr(x.HostKeyPinnedAt) }},
				{"accounts", func(store.Asset) string { return strings.Join(names, ", ") }},
				{"created_at", func(x store.Asset) string { return fmtTime(x.CreatedAt) }},
				{"updated_at", func(x store.Asset) string { return fmtTime(x.UpdatedAt) }},
			}
			if store.IsDatabasePlatform(x.Platform) {
				fields = withoutHostKey(fields) // a database server has no SSH host key
			}
			return a.renderAssetWithFacts(cmd.Context(), s, x, fields)
		},
	}
}

func newAssetRmCmd(a *app) *cobra.Command {
	return newRmCmd(a, "asset", "Remove assets with their accounts (the audit stays)", `  jmsctl asset rm web1 web2`, (*store.Store).RemoveAsset)
}

func newAssetSetCmd(a *app) *cobra.Command {
	var address, platform, node, comment string
	var port int
	var active bool
	var labels, unlabel, oldLabels, oldUnlabel []string
	var db dbFlags
	cmd := &cobra.Command{
		Use:   "set NAME [--address H] [--port P] [--platform P] [--node N] [--add-label k=v]… [--rm-label k]… [--comment C] [--active=true|false] [--database D] [--tls MODE] [--tls-ca FILE]",
		Short: "Change an asset",
		Example: `  jmsctl asset set web1 --address 10.0.0.6 --add-label env=staging --rm-label team
  jmsctl asset set web1 --node / --active=false
  jmsctl asset set db1 --tls verify-ca --tls-ca /etc/jms/db-ca.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			var au store.AssetUpdate
			f := cmd.Flags()
			if f.Changed("address") {
				au.Address = &address
			}
			if f.Changed("port") {
				au.Port = &port
			}
			if f.Changed("platform") {
				au.Platform = &platform
			}
			if f.Changed("node") {
				au.Node = &node
			}
			if f.Changed("comment") {
				au.Comment = &comment
			}
			if f.Changed("active") {
				au.Active = &active
			}
			var err error
			labels, unlabel = append(labels, oldLabels...), append(unlabel, oldUnlabel...)
			if len(labels) > 0 {
				if au.SetLabels, err = parseLabelFlags(labels); err != nil {
					return err
				}
			}
			au.RemoveLabels = unlabel
			assetChanged := au.Address != nil || au.Port != nil || au.Platform != nil || au.Node != nil || au.Comment != nil ||
				au.Active != nil || len(au.SetLabels) > 0 || len(au.RemoveLabels) > 0
			if !assetChanged && !db.changed(cmd) {
				return fmt.Errorf("nothing to change: give --address, --port, --platform, --node, --add-label, --rm-label, --comment, --active, --database, --tls or --tls-ca")
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			if assetChanged {
				if err := s.UpdateAsset(ctx, args[0], au); err != nil {
					return err
				}
			}
			if db.changed(cmd) {
				if err := db.set(ctx, cmd, s, args[0]); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.stdout, "Updated asset %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&address, "address", "", "host name or IP address")
	cmd.Flags().IntVar(&port, "port", 22, "SSH port")
	cmd.Flags().StringVar(&platform, "platform", "", "linux, unix, windows, network, database, mysql or postgresql")
	cmd.Flags().StringVar(&node, "node", "", "node of the asset tree (/ for none)")
	cmd.Flags().StringArrayVar(&labels, "add-label", nil, "set label key=value (repeatable)")
	cmd.Flags().StringArrayVar(&unlabel, "rm-label", nil, "remove label key (repeatable)")
	// The first version's spelling; --add-X/--rm-X is the one grammar now.
	cmd.Flags().StringArrayVar(&oldLabels, "label", nil, "set label key=value (repeatable)")
	cmd.Flags().StringArrayVar(&oldUnlabel, "unlabel", nil, "remove label key (repeatable)")
	_ = cmd.Flags().MarkDeprecated("label", "use --add-label")
	_ = cmd.Flags().MarkDeprecated("unlabel", "use --rm-label")
	cmd.Flags().StringVar(&comment, "comment", "", "free text")
	cmd.Flags().BoolVar(&active, "active", true, "whether people can connect to it")
	db.add(cmd)
	return cmd
}

// readHostKeyFile reads a host public key: an authorized_keys/.pub line,
// or a known_hosts line.
func (a *app) readHostKeyFile(path string) (gossh.PublicKey, error) {
	b, name, err := a.readPublicFile(path)
	if err != nil {
		return nil, fmt.Errorf("host key file: %w", err)
	}
	for i, line := range splitLines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(line)); err == nil {
			return pk, nil
		}
		if _, _, pk, _, _, err := gossh.ParseKnownHosts([]byte(line)); err == nil {
			return pk, nil
		}
		return nil, fmt.Errorf("%s line %d: not an OpenSSH public key or known_hosts line", name, i+1)
	}
	return nil, fmt.Errorf("%s: no public key in the file", name)
}

func newAssetTrustCmd(a *app) *cobra.Command {
	var keyFile string
	cmd := &cobra.Command{
		Use:   "trust NAME [--key FILE]",
		Short: "Re-pin an asset's SSH host key (after a legitimate change)",
		Long: `The bastion pins an asset's host key at the first connection and refuses a
different one later. When the key changed for a good reason (a reinstall),
trust clears the pinned key so that the next connection pins the new one, or
with --key pins the key in FILE (a .pub, authorized_keys or known_hosts line,
e.g. from 'ssh-keyscan -t ed25519 HOST'; - reads it from stdin).`,
		Example: `  jmsctl asset trust web1
  ssh-keyscan -t ed25519 10.0.0.5 > web1.key && jmsctl asset trust web1 --key web1.key
  ssh-keyscan -t ed25519 10.0.0.5 | ssh admin@bastion jmsctl asset trust web1 --key -`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			var pk gossh.PublicKey
			if keyFile != "" {
				if err := a.localFile("--key", keyFile); err != nil {
					return err
				}
				var err error
				if pk, err = a.readHostKeyFile(keyFile); err != nil {
					return err
				}
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			cur, err := s.GetAsset(ctx, args[0])
			if err != nil {
				return err
			}
			was := "none"
			if cur.HostKey != "" {
				was = hostKeyLabel(cur.HostKey)
			}
			if pk == nil {
				if _, err := s.UnpinHostKey(ctx, cur.Name); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Cleared the pinned host key of %s (was: %s); the next connection pins the key it offers\n", cur.Name, was)
				return nil
			}
			line := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(pk)))
			if err := s.TrustHostKey(ctx, cur.Name, line); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Pinned host key %s %s for %s (was: %s)\n", pk.Type(), gossh.FingerprintSHA256(pk), cur.Name, was)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyFile, "key", "", "pin the public key in this file instead of clearing the pin")
	return cmd
}

func newAssetImportCmd(a *app) *cobra.Command {
	var format string
	var opts store.ImportOptions
	cmd := &cobra.Command{
		Use:   "import FILE|- [--format csv|json|yaml] [--dry-run] [--upsert]",
		Short: "Add (or update) assets from a CSV, JSON or YAML file, all or nothing",
		Long: `import reads assets with the fields name, address, port, platform, node,
labels and comment:
  CSV   a header row naming the columns in any order; labels as k=v;k=v
  JSON  an array of objects; labels as an object
  YAML  a sequence of mappings; labels as a mapping
The format comes from the extension or --format (required for - , stdin).
The import is one transaction: a bad row (missing address, bad port, unknown
platform, a name twice in the file, a name that exists without --upsert)
fails it all and nothing is imported; the error names the line (CSV, YAML;
the header is line 1) or the item (JSON, from 1) and the field. --upsert
updates assets that exist (fields the file leaves out keep their value);
--dry-run says what would change and changes nothing: "+ NAME" to add, and
"~ NAME: field from -> to, …" for each field an update would change (with
-o json or yaml, a "changes" map per updated name). 'asset export' writes
the same formats.`,
		Example: `  jmsctl asset import assets.csv --dry-run
  jmsctl asset import assets.csv --upsert --dry-run -o json
  jmsctl asset import assets.yaml --upsert
  jmsctl asset export -o json | jmsctl --data-dir /srv/jms2 asset import - --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(a, cmd, args[0], format, "asset", opts, parseAssets, (*store.Store).ImportAssets)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (default: from the extension)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "say what would change, change nothing")
	cmd.Flags().BoolVar(&opts.Upsert, "upsert", false, "update the rows whose name exists")
	return cmd
}

// runImport parses src (a file, or "-" for stdin) in format (or the
// one its extension says) and imports the rows in one transaction.
func runImport[T any](a *app, cmd *cobra.Command, src, format, noun string, opts store.ImportOptions,
	parse func(io.Reader, string) ([]T, error),
	imp func(*store.Store, context.Context, []T, store.ImportOptions) (store.ImportResult, error)) error {
	ctx := a.actorContext(cmd.Context())
	f, err := importFormat(src, format)
	if err != nil {
		return err
	}
	r, closeFn, err := a.openInput(src)
	if err != nil {
		return err
	}
	defer closeFn()
	rows, err := parse(r, f)
	if err != nil {
		return err
	}
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	opts.Source = src
	res, err := imp(s, ctx, rows, opts)
	if err != nil {
		return err
	}
	l := a.listing()
	if l.format == "json" || l.format == "yaml" {
		return encode(l.w, l.format, res)
	}
	printImport(l.w, noun, res, opts.DryRun)
	return nil
}

// openInput opens FILE, or stdin for "-".
func (a *app) openInput(name string) (io.Reader, func(), error) {
	if name == "-" {
		return a.stdin, func() {}, nil
	}
	if err := a.localFile("import", name); err != nil {
		return nil, nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, fmt.Errorf("import: %w", err)
	}
	return f, func() { f.Close() }, nil
}

func printImport(w io.Writer, noun string, res store.ImportResult, dryRun bool) {
	plural := func(n int) string {
		if n == 1 {
			return noun
		}
		return noun + "s"
	}
	if dryRun {
		names := append(append([]string{}, res.Added...), res.Updated...)
		sort.Strings(names)
		added := map[string]bool{}
		for _, n := range res.Added {
			added[n] = true
		}
		for _, n := range names {
			if added[n] {
				fmt.Fprintf(w, "+ %s\n", cell(n))
			} else {
				fmt.Fprintf(w, "~ %s%s\n", cell(n), changeText(res.Changes[n]))
			}
		}
		for _, g := range res.GroupsCreated {
			fmt.Fprintf(w, "+ group %s\n", g)
		}
		fmt.Fprintf(w, "Dry run: %d to add, %d to update, %d unchanged; nothing changed\n",
			len(res.Added), len(res.Updated), len(res.Unchanged))
		return
	}
	total := len(res.Added) + len(res.Updated)
	fmt.Fprintf(w, "Imported %d %s: %d added, %d updated, %d unchanged\n",
		total, plural(total), len(res.Added), len(res.Updated), len(res.Unchanged))
	if len(res.GroupsCreated) > 0 {
		fmt.Fprintf(w, "Made groups: %s\n", strings.Join(res.GroupsCreated, ", "))
	}
}

// changeText is ": field from -> to, …" for the fields an import
// changes, in field order; "" for none. Values come from the import file:
// their control characters are written out.
func changeText(changes map[string]store.FieldChange) string {
	if len(changes) == 0 {
		return ""
	}
	show := func(v string) string {
		if v == "" {
			return "(none)"
		}
		return cell(v)
	}
	parts := make([]string, 0, len(changes))
	for _, f := range sortedMapKeys(changes) {
		c := changes[f]
		parts = append(parts, fmt.Sprintf("%s %s -> %s", cell(f), show(c.From), show(c.To)))
	}
	return ": " + strings.Join(parts, ", ")
}

func newAssetExportCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [-o|--format csv|json|yaml]",
		Short: "Write every asset to stdout in an import format (CSV by default)",
		Example: `  jmsctl asset export > assets.csv
  jmsctl asset export -o yaml > assets.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			assets, err := s.ExportAssets(cmd.Context())
			if err != nil {
				return err
			}
			format, err := exportFormat(a.output, format)
			if err != nil {
				return err
			}
			return writeAssets(a.stdout, format, assets)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv, json or yaml (the same as -o; default csv)")
	return cmd
}
