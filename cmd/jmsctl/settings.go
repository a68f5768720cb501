package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/config"
	"github.com/jms-bastion/jms/notify"
	"github.com/jms-bastion/jms/store"
)

func newSettingsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "settings",
		Short: "Runtime settings: show them all, set and test the mail server",
		Long: `settings shows every setting serve runs with (jms.yaml, JMS_* variables
and the settings kept in the database, secrets redacted) and sets the mail
server that invitations, password resets and notifications go through.`,
		Example: `  jmsctl settings show
  printf '%s\n' "$SMTP_PW" | jmsctl settings mail set --host smtp.example.com --port 465 --ssl \
      --user jms@example.com --password-stdin --from 'jms <jms@example.com>'
  jmsctl settings mail test alice@example.com`,
	}
	mail := &cobra.Command{
		Use:   "mail",
		Short: "The SMTP server jms sends mail through: set, test",
		Example: `  jmsctl settings mail set --host smtp.example.com --starttls --from jms@example.com
  jmsctl settings mail test alice@example.com`,
	}
	mail.AddCommand(newMailSetCmd(a), newMailTestCmd(a))
	cmd.AddCommand(mail, newSettingsShowCmd(a))
	return cmd
}

type mailFlags struct {
	host, user, from, caFile  string
	port                      int
	ssl, starttls, plain      bool
	passwordStdin, noPassword bool
}

func newMailSetCmd(a *app) *cobra.Command {
	var f mailFlags
	cmd := &cobra.Command{
		Use:   "set [--host H] [--port N] [--ssl|--starttls|--no-tls] [--user U --password-stdin] [--from ADDR] [--ca-file FILE]",
		Short: "Set the SMTP server (the password sealed, read from stdin)",
		Long: `set stores how jms reaches its SMTP server, for every serve on the
database. Flags not given keep their stored value. --ssl is implicit TLS
(SMTPS, port 465 by default), --starttls upgrades a plain connection
(port 587 by default); --no-tls sends in clear and is meant for a relay on
loopback. The password is read from stdin (--password-stdin) and sealed
with the data directory's key; --no-password removes it. --ca-file adds
the CA certificates (PEM) of a private CA that the server's certificate
chains to; --ca-file "" drops them. Check the result with
'jmsctl settings mail test ADDRESS'.`,
		Example: `  printf '%s\n' "$SMTP_PW" | jmsctl settings mail set --host smtp.example.com --port 465 --ssl \
      --user jms@example.com --password-stdin --from 'jms <jms@example.com>'
  jmsctl settings mail set --host mail.corp --starttls --ca-file /etc/ssl/corp-ca.pem --from jms@corp
  jmsctl settings mail set --port 2525`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			cur, err := s.MailSettingsRedacted(ctx)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if err := a.localFile("--ca-file", f.caFile); err != nil {
				return err
			}
			next, err := f.apply(cmd, cur)
			if err != nil {
				return err
			}
			var pw store.Secret
			switch {
			case f.passwordStdin && f.noPassword:
				return errors.New("give --password-stdin or --no-password, not both")
			case f.passwordStdin:
				if pw, err = readSecret(a.stdin, "SMTP password"); err != nil {
					return err
				}
				defer clear(pw)
			case f.noPassword:
				pw = store.Secret{}
			}
			if next.Username == "" && f.passwordStdin {
				return errors.New("a password without --user: give the SMTP login name too")
			}
			if err := s.SetMailSettings(ctx, next, pw); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Mail goes through %s (%s) from %s; test it with 'jmsctl settings mail test ADDRESS'\n",
				notify.Addr(next), next.Security, next.From)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.host, "host", "", "SMTP server name or address")
	fl.IntVar(&f.port, "port", 0, "SMTP port (default 465 with --ssl, 587 with --starttls, 25 with --no-tls)")
	fl.BoolVar(&f.ssl, "ssl", false, "implicit TLS (SMTPS)")
	fl.BoolVar(&f.starttls, "starttls", false, "STARTTLS, required: a server that does not offer it is refused")
	fl.BoolVar(&f.plain, "no-tls", false, "no TLS at all (a relay on loopback only)")
	fl.StringVar(&f.user, "user", "", "SMTP login name (\"\" for none)")
	fl.BoolVar(&f.passwordStdin, "password-stdin", false, "read the SMTP password from stdin")
	fl.BoolVar(&f.noPassword, "no-password", false, "remove the stored SMTP password")
	fl.StringVar(&f.from, "from", "", "sender, e.g. 'jms <jms@example.com>'")
	fl.StringVar(&f.caFile, "ca-file", "", "PEM file of a private CA the server's certificate chains to (\"\" drops it)")
	cmd.MarkFlagsMutuallyExclusive("ssl", "starttls", "no-tls")
	return cmd
}

// apply overlays the flags given on cur.
func (f mailFlags) apply(cmd *cobra.Command, cur store.MailSettings) (store.MailSettings, error) {
	ch := cmd.Flags().Changed
	next := cur
	if ch("host") {
		next.Host = strings.TrimSpace(f.host)
	}
	switch {
	case f.ssl:
		next.Security = store.MailSSL
	case f.starttls:
		next.Security = store.MailSTARTTLS
	case f.plain:
		next.Security = store.MailNoTLS
	}
	if next.Security == "" {
		return next, errors.New("say how to secure the connection: --ssl (port 465), --starttls (587) or --no-tls")
	}
	if ch("port") {
		next.Port = f.port
	} else if cur.Port == 0 || cur.Security != next.Security {
		next.Port = map[string]int{store.MailSSL: 465, store.MailSTARTTLS: 587, store.MailNoTLS: 25}[next.Security]
	}
	if ch("user") {
		next.Username = f.user
	}
	if ch("from") {
		addr, err := parseFrom(f.from)
		if err != nil {
			return next, err
		}
		next.From = addr
	}
	if ch("ca-file") {
		next.CAPEM = ""
		if f.caFile != "" {
			b, err := os.ReadFile(f.caFile)
			if err != nil {
				return next, fmt.Errorf("--ca-file: %w", err)
			}
			if err := notify.ParseCAFile(b); err != nil {
				return next, fmt.Errorf("--ca-file %s: %w", f.caFile, err)
			}
			next.CAPEM = string(b)
		}
	}
	switch {
	case next.Host == "":
		return next, errors.New("no SMTP server: give --host")
	case next.From == "":
		return next, errors.New("no sender: give --from, e.g. --from 'jms <jms@example.com>'")
	case next.Port < 1 || next.Port > 65535:
		return next, fmt.Errorf("--port %d: want 1-65535", next.Port)
	}
	return next, nil
}

func parseFrom(s string) (string, error) {
	addr, err := notify.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("--from %q: %w", s, err)
	}
	return addr, nil
}

func newMailTestCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "test ADDRESS",
		Short: "Send a test mail now and print the server's answer or what failed",
		Long: `test sends a test mail to ADDRESS at once (not through the outbox) and
prints the server's answer. When it fails, the one-line error names the
step: DNS (the name does not resolve), TCP (nothing answers), TLS (with the
certificate problem), AUTH (the login was refused), recipient rejected,
sender rejected or SMTP.`,
		Example: `  jmsctl settings mail test alice@example.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := a.actorContext(cmd.Context())
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			settings, err := s.GetMailSettings(ctx)
			if err != nil {
				return err
			}
			defer clear(settings.Password)
			cfg, err := a.config()
			if err != nil {
				return err
			}
			m, err := testMail(cfg, args[0], osActor(a.getenv("SUDO_USER")))
			if err != nil {
				return err
			}
			answer, err := notify.SendMail(ctx, settings, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Sent to %s through %s (%s): %s\n", args[0], notify.Addr(settings), settings.Security,
				strings.Join(strings.Fields(answer), " "))
			return nil
		},
	}
}

func testMail(cfg config.Config, to, actor string) (notify.Mail, error) {
	if _, err := notify.ParseAddress(to); err != nil {
		return notify.Mail{}, fmt.Errorf("address %q: %w", to, err)
	}
	return templates(cfg).Render("test", to, map[string]any{
		"To": to, "At": time.Now().UTC().Format(time.RFC3339), "Actor": actor})
}

func templates(cfg config.Config) notify.Templates {
	return notify.Templates{Dir: cfg.TemplatesDir(), Language: cfg.NotifyLanguage}
}

// setting is one line of 'settings show'.
type setting struct {
	Name   string `json:"name" yaml:"name"`
	Value  string `json:"value" yaml:"value"`
	Source string `json:"source" yaml:"source"`
}

func newSettingsShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Every runtime setting, with where it comes from (secrets redacted)",
		Example: `  jmsctl settings show
  jmsctl settings show -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := a.config()
			if err != nil {
				return err
			}
			out := configSettings(cfg, a.environ)
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			more, err := storedSettings(cmd, s)
			if err != nil {
				return err
			}
			return render(a.listing(), append(out, more...), []column[setting]{
				{"name", func(s setting) string { return s.Name }},
				{"value", func(s setting) string { return s.Value }},
				{"source", func(s setting) string { return s.Source }},
			})
		},
	}
}

// configSettings lists the fields of cfg with where each value comes
// from: the default, jms.yaml or its JMS_* variable.
func configSettings(cfg config.Config, environ []string) []setting {
	def := config.Default(cfg.DataDir)
	env := map[string]bool{}
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok {
			env[k] = true
		}
	}
	rv, dv := reflect.ValueOf(cfg), reflect.ValueOf(def)
	var out []setting
	for i := 0; i < rv.NumField(); i++ {
		tag := rv.Type().Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		src := "default"
		switch {
		case env["JMS_"+strings.ToUpper(tag)]:
			src = "env JMS_" + strings.ToUpper(tag)
		case !reflect.DeepEqual(rv.Field(i).Interface(), dv.Field(i).Interface()):
			src = config.FileName
		}
		out = append(out, setting{tag, redactValue(tag, formatValue(rv.Field(i))), src})
	}
	return out
}

func formatValue(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case []string:
		return strings.Join(x, ",")
	}
	return fmt.Sprint(v.Interface())
}

// redactValue hides what may be a secret in a setting: a password in a
// URL (a database DSN), or the whole value of a setting named for one.
func redactValue(name, v string) string {
	lower := strings.ToLower(name)
	if v != "" && (strings.Contains(lower, "password") || strings.Contains(lower, "secret") || strings.HasSuffix(lower, "_key")) {
		return "[redacted]"
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "redacted")
			return u.String()
		}
	}
	return v
}

func storedSettings(cmd *cobra.Command, s *store.Store) ([]setting, error) {
	const src = "database"
	m, err := s.MailSettingsRedacted(cmd.Context())
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var out []setting
	if err == nil {
		pw, ca := "(none)", "(system CAs)"
		if m.HasPassword {
			pw = "[redacted]"
		}
		if m.CAPEM != "" {
			ca = "system CAs and " + strconv.Itoa(strings.Count(m.CAPEM, "BEGIN CERTIFICATE")) + " more"
		}
		out = append(out, setting{"mail.host", m.Host, src}, setting{"mail.port", strconv.Itoa(m.Port), src},
			setting{"mail.security", m.Security, src}, setting{"mail.username", m.Username, src},
			setting{"mail.password", pw, src}, setting{"mail.from", m.From, src}, setting{"mail.ca", ca, src})
	} else {
		out = append(out, setting{"mail", "(not set: jmsctl settings mail set)", src})
	}
	hooks, err := s.ListWebhooks(cmd.Context())
	if err != nil {
		return nil, err
	}
	for _, h := range hooks {
		events := "all"
		if len(h.Events) > 0 {
			events = strings.Join(h.Events, ",")
		}
		out = append(out, setting{"webhook." + h.Name, redactValue("url", h.URL) + " events=" + events +
			" signed=" + strconv.FormatBool(h.Signed), src})
	}
	return out, nil
}
