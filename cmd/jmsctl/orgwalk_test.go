package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/jms-bastion/jms/store"
)

// The CLI walk (issue 16's quality bar): org A (team-a) holds data of
// every kind, org B (team-b) has an org-admin, bella. Every command of
// the tree runs as bella over SSH would (app.caller set) with arguments
// naming A's objects; none may show A's data (its names and addresses
// appear only where the arguments named them) nor change it (a dump of
// A's rows, read locally with --org team-a, is the same before and
// after). A command missing from walkArgs fails the test, so that a new
// command cannot be forgotten.

// walkSession is A's session; walkTicket's id is looked up.
const walkSession = "aaaa1111-0000-4000-8000-00000000000a"

// walkSecrets are A's strings: none may appear in what bella sees,
// unless her command's arguments named it.
var walkSecrets = []string{"web-a", "10.66.1.5", "/secret-a", "leaky", "acct-a", "grp-a", "grant-a",
	"filter-a", "rmrf-a", "rule-a", "10.99.0.0/16", "tmpl-a", "alice-a", walkSession[:8]}

// walkArgs is each command's arguments (after its path) in the walk.
// TICKET is replaced by A's ticket id, FILE by an import file naming A's
// asset, KEYFILE by a public key file.
var walkArgs = map[string][]string{
	"init": {}, "serve": {}, "db copy": {"--to", "sqlite:///tmp/x.db"}, "db migrate": {}, "db status": {},
	"secret rekey": {}, "secret status": {}, "server list": {},
	"settings show": {}, "settings mail set": {"--host", "mail.example"}, "settings mail test": {"a@example.com"},
	"notify test": {"--to", "a@example.com"}, "notify outbox": {}, "notify outbox retry": {},
	"notify rule list": {}, "notify rule rm": {"1"}, "notify rule set": {"session.start", "--role", "admin", "--on"},
	"notify webhook add": {"hook-a", "--url", "https://example.com"}, "notify webhook list": {}, "notify webhook rm": {"hook-a"},
	"version": {},

	"org add": {"team-c"}, "org rm": {"team-a"}, "org rename": {"team-a", "team-z"},
	"org list": {}, "org show": {"team-a"},
	"org members add": {"team-a", "bella", "--role", "org-admin"}, "org members rm": {"team-a", "alice-a"},
	"org members list": {"team-a"},

	"user add": {"eve"}, "user disable": {"alice-a"}, "user enable": {"alice-a"}, "user export": {},
	"user import": {"FILE"}, "user invite": {"alice-a"}, "user key add": {"alice-a", "KEYFILE"},
	"user key list": {"alice-a"}, "user key rm": {"alice-a", "x"}, "user list": {}, "user lock": {"alice-a"},
	"user locks": {}, "user mfa disable": {"alice-a"}, "user mfa enable": {"alice-a"},
	"user mfa recovery": {"alice-a"}, "user passwd": {"alice-a", "--password-stdin"}, "user rm": {"alice-a"},
	"user set": {"alice-a", "--comment", "x"}, "user show": {"alice-a"}, "user unlock": {"alice-a"},

	"me": {}, "me assets": {}, "me keys": {}, "me keys add": {}, "me keys rm": {"alice-a@laptop"},
	"me mfa": {}, "me passwd": {}, "me sessions": {},

	"group add": {"grp-a"}, "group list": {}, "group rm": {"grp-a"}, "group set": {"grp-a", "--comment", "x"},
	"group show": {"grp-a"}, "group members add": {"grp-a", "bella"}, "group members rm": {"grp-a", "alice-a"},
	"asset add": {"web-a", "--address", "127.0.0.1", "--port", "1"}, "asset disable": {"web-a"},
	"asset enable": {"web-a"}, "asset export": {}, "asset import": {"FILE", "--upsert"}, "asset list": {},
	"asset rm": {"web-a"}, "asset set": {"web-a", "--comment", "x"}, "asset show": {"web-a"},
	"asset test": {"web-a"}, "asset trust": {"web-a"}, "asset who-can": {"web-a"},
	"asset move": {"web-a", "--to-org", "team-a"},
	"node list":  {}, "node prune": {},
	"account add": {"web-a", "acct-a", "--password-stdin"}, "account discover": {"web-a"},
	"account list": {"web-a"}, "account passwd": {"web-a", "acct-a", "--password-stdin"},
	"account push": {"web-a"}, "account rm": {"web-a", "acct-a"}, "account rotate": {"web-a", "acct-a"},
	"account set": {"web-a", "acct-a", "--comment", "x"}, "account show": {"web-a", "acct-a"},
	"account verify":       {"web-a", "acct-a"},
	"account template add": {"tmpl-a", "--secret", "generate-key", "--home"}, "account template list": {},
	"account template rm": {"tmpl-a"}, "job list": {},

	"grant add": {"grant-a", "--user", "alice-a", "--asset", "web-a"}, "grant disable": {"grant-a"},
	"grant enable": {"grant-a"}, "grant explain": {"alice-a", "web-a"}, "grant list": {},
	"grant rm": {"grant-a"}, "grant set": {"grant-a", "--add-user", "bella"}, "grant show": {"grant-a"},
	"filter add": {"filter-a", "--action", "deny", "--command", "rmrf-a"}, "filter disable": {"filter-a"},
	"filter enable": {"filter-a"}, "filter list": {}, "filter rm": {"filter-a"},
	"filter set": {"filter-a", "--comment", "x"}, "filter show": {"filter-a"},
	"acl add": {"rule-a", "--action", "deny"}, "acl disable": {"rule-a"}, "acl enable": {"rule-a"},
	"acl list": {}, "acl rm": {"rule-a"}, "acl set": {"rule-a", "--comment", "x"}, "acl show": {"rule-a"},
	"ticket approve": {"TICKET"}, "ticket list": {}, "ticket reject": {"TICKET"},

	"session kill": {walkSession}, "session list": {}, "session show": {walkSession},
	"session watch": {walkSession}, "replay": {walkSession, "--cat"},
	"recording get": {walkSession}, "recording verify": {walkSession},
	"recording status": {}, "recording prune": {},
	"audit commands": {}, "audit transfers": {}, "audit operations": {}, "audit logins": {},
}

// walkDump is what is compared: A's rows, read locally in A's scope.
var walkDump = [][]string{
	{"asset", "list"}, {"account", "list"}, {"group", "list"}, {"grant", "list"}, {"filter", "list"},
	{"acl", "list"}, {"account", "template", "list"}, {"node", "list"}, {"session", "list"},
	{"ticket", "list"}, {"audit", "operations"}, {"org", "members", "list", "team-a"},
}

func TestOrgAdminCannotReachAnotherOrg(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ticket := walkSetup(t, dir)
	files := walkFiles(t)
	before := walkDumpA(t, dir)
	for _, want := range walkSecrets {
		if want != "10.99.0.0/16" && !strings.Contains(before, want) { // acl list shows no sources
			t.Fatalf("org A's dump lacks %q: the walk would prove nothing\n%s", want, before)
		}
	}
	root := newRootCmd(newApp(strings.NewReader(""), nil, nil, nil))
	var paths []string
	walk(root, func(c *cobra.Command) {
		if _, ok := c.Annotations[roleAnnotation]; ok {
			paths = append(paths, commandKey(c))
		}
	})
	// Reads first: a change that reached A (caught by the dump) would
	// hide what a later read shows; adds last, so that the other changes
	// look for A's objects, not for B's new ones of the same names.
	slices.SortFunc(paths, func(x, y string) int {
		if c := walkStage(x) - walkStage(y); c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	ran := 0 // commands the permission check let through
	for _, path := range paths {
		args, ok := walkArgs[path]
		if !ok {
			t.Errorf("jmsctl %s is not in walkArgs: give it arguments naming org A's objects", path)
			continue
		}
		args, named := walkReplace(args, ticket, files)
		argv := append(strings.Fields(path), args...)
		if !slices.Contains(walkOrgArg, path) {
			argv = append([]string{"--org", "team-b"}, argv...)
		}
		stdout, stderr, err := runAs(t, dir, "bella", argv)
		t.Logf("%s: %s", path, firstLine(stderr, stdout))
		if !strings.Contains(stderr, " needs the ") && !strings.Contains(stderr, " runs only on the bastion host") {
			ran++
		}
		if leak := walkLeak(stdout, stderr, named); leak != "" {
			t.Errorf("jmsctl %s %s shows org A's %q\nstdout: %s\nstderr: %s (err %v)", path, strings.Join(args, " "), leak, stdout, stderr, err)
		}
	}
	for path := range walkArgs {
		if !slices.Contains(paths, path) {
			t.Errorf("walkArgs names %q, which is no command", path)
		}
	}
	if want := len(paths) / 2; ran < want {
		t.Errorf("only %d commands ran past the permission check, want at least %d: bella is not org-admin where she runs", ran, want)
	}
	if after := walkDumpA(t, dir); after != before {
		t.Errorf("org A's rows changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// runLocal runs the local CLI in-process with stdin.
func runLocal(dir, stdin string, args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	a := newApp(strings.NewReader(stdin), &out, &errb, []string{"JMS_DATA_DIR=" + dir})
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

// runAs runs jmsctl in-process as user would over SSH.
func runAs(t *testing.T, dir, user string, args []string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &errb, []string{"JMS_DATA_DIR=" + dir})
	a.caller = &caller{user: user, role: "user", source: "192.0.2.1:50000"}
	root := newRootCmd(a)
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil {
		errb.WriteString("Error: " + oneLine(err) + "\n")
	}
	return out.String(), errb.String(), err
}

// walkLeak returns an A string that the output shows and the arguments
// did not name, "" for none.
func walkLeak(stdout, stderr string, args []string) string {
	for _, secret := range walkSecrets {
		named := slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, secret) })
		if named {
			continue
		}
		if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
			return secret
		}
	}
	return ""
}

// walkReplace puts the ticket id and file names into args; named is
// what the command was told: its arguments and its files' contents.
func walkReplace(args []string, ticket string, files map[string]string) (out, named []string) {
	out = make([]string, len(args))
	named = slices.Clone(args)
	for i, a := range args {
		out[i] = a
		if a == "TICKET" {
			out[i] = ticket
		} else if f, ok := files[a]; ok {
			out[i] = f
			body, _ := os.ReadFile(f)
			named = append(named, strings.Fields(strings.ReplaceAll(string(body), ",", " "))...)
		}
	}
	return out, named
}

// walkStage orders the walk by each command's verb: reads (0), changes
// (1), adds (2).
func walkStage(path string) int {
	verbs := strings.Fields(path)
	switch verbs[len(verbs)-1] {
	case "add":
		return 2
	case "import", "rm", "set", "enable", "disable", "move", "prune", "approve", "reject",
		"kill", "passwd", "push", "rotate", "discover", "trust", "rename", "lock", "unlock", "rekey", "retry":
		return 1
	}
	return 0
}

// walkOrgArg are the commands whose first argument is the organization
// (A's, in the walk): they run without --org.
var walkOrgArg = []string{"org show", "org members add", "org members rm", "org members list"}

// walkFiles writes the files some commands read.
func walkFiles(t *testing.T) map[string]string {
	dir := t.TempDir()
	files := map[string]string{
		"FILE":    "name,address\nweb-a,127.0.0.1\n",
		"KEYFILE": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl eve@laptop\n",
	}
	out := map[string]string{}
	for name, body := range files {
		p := filepath.Join(dir, strings.ToLower(name)+".csv")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

// walkSetup makes org A with data of every kind and org B with bella,
// its org-admin; it returns A's ticket id.
func walkSetup(t *testing.T, dir string) string {
	t.Helper()
	st := initStore(t, dir)
	defer st.Close()
	for _, args := range [][]string{
		{"org", "add", "team-a"}, {"org", "add", "team-b"},
		{"user", "add", "alice-a"}, {"user", "add", "bella"},
		{"org", "members", "add", "team-a", "alice-a"},
		{"org", "members", "add", "team-b", "bella", "--role", "org-admin"},
		{"--org", "team-a", "group", "add", "grp-a"},
		{"--org", "team-a", "group", "members", "add", "grp-a", "alice-a"},
		{"--org", "team-a", "asset", "add", "web-a", "--address", "10.66.1.5", "--node", "/secret-a", "--label", "env=leaky"},
		{"--org", "team-a", "account", "add", "web-a", "acct-a", "--password-stdin"},
		{"--org", "team-a", "grant", "add", "grant-a", "--user", "alice-a", "--group", "grp-a", "--asset", "web-a", "--account", "acct-a"},
		{"--org", "team-a", "filter", "add", "filter-a", "--action", "review", "--command", "rmrf-a", "--asset", "web-a"},
		{"--org", "team-a", "acl", "add", "rule-a", "--user", "alice-a", "--source", "10.99.0.0/16"},
		{"--org", "team-a", "account", "template", "add", "tmpl-a", "--secret", "generate-key", "--home", "--node", "/secret-a"},
	} {
		if stdout, stderr, err := runLocal(dir, "Acct-a-Passw0rd-long\n", args...); err != nil {
			t.Fatalf("jmsctl %s: %v\n%s%s", strings.Join(args, " "), err, stdout, stderr)
		}
	}
	return walkHistory(t, st)
}

// walkHistory writes A's session and ticket, as the bastion does.
func walkHistory(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := store.WithActor(context.Background(), "ssh:alice-a")
	o, err := st.GetOrg(ctx, "team-a")
	if err != nil {
		t.Fatal(err)
	}
	a := st.InOrg(o.ID)
	if _, err := a.StartSession(ctx, store.NewSession{ID: walkSession, User: "alice-a", Asset: "web-a", Account: "acct-a",
		Source: "10.99.0.7:50000", Command: "rmrf-a /"}); err != nil {
		t.Fatal(err)
	}
	tk, err := a.AddTicket(ctx, store.NewTicket{SessionID: walkSession, User: "alice-a", Asset: "web-a", Account: "acct-a",
		Filter: "filter-a", Command: "rmrf-a /"})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(tk.ID)
}

// walkDumpA reads A's rows through the local CLI in A's scope.
func walkDumpA(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, args := range walkDump {
		stdout, stderr, err := runCLI(t, dir, append([]string{"--org", "team-a", "-o", "json"}, args...)...)
		if err != nil {
			t.Fatalf("jmsctl %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		fmt.Fprintf(&b, "== %s\n%s", strings.Join(args, " "), stdout)
	}
	return b.String()
}

func firstLine(texts ...string) string {
	for _, t := range texts {
		if line, _, _ := strings.Cut(strings.TrimSpace(t), "\n"); line != "" {
			return line
		}
	}
	return "(no output)"
}
