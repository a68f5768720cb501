package e2e

// Byte streams of sessions without a PTY, recorded exactly: binary stdout,
// stderr and stdin through the real OpenSSH client, got back with
// `jmsctl replay ID --raw` and compared by SHA-256; a damaged raw file is
// refused with the offset at fault.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// sessionByCommand returns the row of the session that ran command.
func sessionByCommand(t *testing.T, b *Bastion, command string) map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal([]byte(b.MustRun(t, "", "session", "list", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["command"] == command {
			return r
		}
	}
	t.Fatalf("no session ran %q", command)
	return nil
}

func TestRawStreamsReplayExactly(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "ssh", "sshpass")
	s := startSSHD(t)
	b := startBastion(t, BastionOptions{Config: "record_input: true\n"})
	e := &serverEnv{b: b, s: s, key: ClientKey(t)}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(s.Port))
	b.MustRun(t, "", "account", "add", "web1", s.User, "--key", s.KeyFile)
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1")

	// Binary data: a run of NULs, random bytes (NULs, invalid UTF-8 and
	// every control byte among them), and a rune cut in half at the end.
	data := make([]byte, 3<<20)
	rand.Read(data[64<<10:])
	data = append(data, 0xe2, 0x82)
	errData := append([]byte("warn\x00\xff\n"), data[:100000]...)
	dir, err := os.MkdirTemp("", "jms-e2e-streams-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	out, errf := filepath.Join(dir, "out.bin"), filepath.Join(dir, "err.bin")
	if err := os.WriteFile(out, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(errf, errData, 0o644); err != nil {
		t.Fatal(err)
	}
	in := make([]byte, 2<<20)
	rand.Read(in[1000:])

	cmd := "cat " + out + "; cat " + errf + " >&2; sha256sum"
	res := runSSH(t, e.keyLogin("alice"), bytes.NewReader(in), "web1", cmd)
	wantOut := append(append([]byte(nil), data...), []byte(sha(in)+"  -\n")...)
	if res.ExitCode != 0 || res.Stdout != string(wantOut) || res.Stderr != string(errData) {
		t.Fatalf("through the bastion: exit %d, stdout %d bytes (want %d), stderr %d bytes (want %d)",
			res.ExitCode, len(res.Stdout), len(wantOut), len(res.Stderr), len(errData))
	}
	row := sessionByCommand(t, b, cmd)
	id := row["id"].(string)
	for _, tc := range []struct {
		args []string
		want []byte
	}{
		{[]string{"--raw"}, wantOut},
		{[]string{"--raw", "--stream", "stderr"}, errData},
		{[]string{"--raw", "--stream", "stdin"}, in},
	} {
		got := b.MustRun(t, "", append([]string{"replay", id}, tc.args...)...)
		if sha([]byte(got)) != sha(tc.want) {
			t.Fatalf("replay %v: %d bytes, sha256 %s; want %d bytes, sha256 %s", tc.args, len(got), sha([]byte(got)), len(tc.want), sha(tc.want))
		}
	}

	// Text views show the output, as text.
	if res := runSSH(t, e.keyLogin("alice"), nil, "web1", "echo hello-raw; echo oops-raw >&2"); res.ExitCode != 0 {
		t.Fatalf("%+v", res)
	}
	id2 := sessionByCommand(t, b, "echo hello-raw; echo oops-raw >&2")["id"].(string)
	for _, view := range []string{"--cat", "--text"} {
		got := b.MustRun(t, "", "replay", id2, view)
		if !strings.Contains(got, "hello-raw") || !strings.Contains(got, "oops-raw") {
			t.Fatalf("replay %s:\n%s", view, got)
		}
	}

	// The raw file beside the cast, 0600; damaged or cut, it is refused
	// with the offset at fault.
	cast := row["recording_path"].(string)
	if !filepath.IsAbs(cast) {
		cast = filepath.Join(b.DataDir, cast)
	}
	raw := strings.TrimSuffix(cast, ".cast") + ".raw"
	fi, err := os.Stat(raw)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("raw file %s: %v %v", raw, fi, err)
	}
	orig, _ := os.ReadFile(raw)
	damaged := append([]byte(nil), orig...)
	damaged[len(damaged)/2] ^= 0x40
	os.WriteFile(raw, damaged, 0o600)
	if _, stderr, err := b.Run(t, "replay", id, "--raw"); err == nil || !strings.Contains(stderr, "offset ") {
		t.Fatalf("a damaged raw file: err %v, stderr %q", err, stderr)
	}
	os.WriteFile(raw, orig[:len(orig)-5], 0o600)
	if _, stderr, err := b.Run(t, "replay", id, "--raw", "--stream", "stdin"); err == nil || !strings.Contains(stderr, "cut short") {
		t.Fatalf("a cut raw file: err %v, stderr %q", err, stderr)
	}
}
