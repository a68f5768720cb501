package e2e

// Recordings in object storage, against a real S3 gateway (versitygw) and the real OpenSSH
// client: uploaded compressed, replayed after the spool copy is gone, kept in the spool while
// the store is down or refuses the credentials and delivered later (across a kill -9 of the
// bastion too), verified, and pruned by retention.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const recBucket = "jms-rec"

// recEnv is a bastion whose recordings go to an S3 gateway, in front of one sshd asset, web1,
// granted to alice (key login).
type recEnv struct {
	b   *Bastion
	s3  *S3Server
	key *Key
}

func newRecEnv(t *testing.T, extraConfig string, env ...string) *recEnv {
	t.Helper()
	requireBinaries(t, "ssh")
	requireVersitygw(t)
	s3 := startS3(t, recBucket)
	sshd := startSSHD(t)
	if env == nil {
		env = s3.Env()
	}
	b := startBastion(t, BastionOptions{Config: s3.JmsConfig(recBucket, "rec") + extraConfig, Env: env})
	e := &recEnv{b: b, s3: s3, key: ClientKey(t)}
	b.MustRun(t, "", "user", "add", "alice", "--key", e.key.PubPath)
	b.MustRun(t, "", "asset", "add", "web1", "--address", "127.0.0.1", "--port", strconv.Itoa(sshd.Port))
	b.MustRun(t, "", "account", "add", "web1", sshd.User, "--key", sshd.KeyFile)
	b.MustRun(t, "", "grant", "add", "alice-web1", "--user", "alice", "--asset", "web1", "--account", "@all")
	return e
}

// run runs one recorded command on web1 and returns its session.
func (e *recEnv) run(t *testing.T, marker string) recSession {
	t.Helper()
	l := e.b.Login("alice")
	l.KeyFile = e.key.Path
	if res := runSSH(t, l, nil, "web1", "echo "+marker); res.ExitCode != 0 || !strings.Contains(res.Stdout, marker) {
		t.Fatalf("ssh web1: %+v", res)
	}
	var rows []recSession
	if err := json.Unmarshal([]byte(e.b.MustRun(t, "", "session", "list", "-o", "json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.Contains(r.Command, marker) {
			return r
		}
	}
	t.Fatalf("no session ran %q", marker)
	return recSession{}
}

type recSession struct {
	ID             string     `json:"id"`
	Command        string     `json:"command"`
	Status         string     `json:"status"`
	EndedAt        *time.Time `json:"ended_at"`
	RecordingPath  string     `json:"recording_path"`
	RecordingState string     `json:"recording_state"`
}

func (e *recEnv) show(t *testing.T, id string) recSession {
	t.Helper()
	var r recSession
	if err := json.Unmarshal([]byte(e.b.MustRun(t, "", "session", "show", id, "-o", "json")), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitState waits until the session's recording is in state.
func (e *recEnv) waitState(t *testing.T, id, state string, timeout time.Duration) {
	t.Helper()
	var last recSession
	if !pollUntil(timeout, 300*time.Millisecond, func() bool {
		last = e.show(t, id)
		return last.RecordingState == state && last.Status != "active"
	}) {
		status, _, _ := e.b.Run(t, "recording", "status")
		t.Fatalf("session %s: recording %q after %v, want %q\nrecording status:\n%s", id, last.RecordingState, timeout, state, status)
	}
}

// pollUntil checks cond every interval until it holds or timeout passes.
func pollUntil(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// objectKey is where a session's asciicast goes: rec/YYYY/MM/DD/<id>.cast.gz.
func objectKey(r recSession) string {
	day := filepath.Base(filepath.Dir(r.RecordingPath)) // recordings/2026-11-30/<id>.cast
	return "rec/" + strings.ReplaceAll(day, "-", "/") + "/" + r.ID + ".cast.gz"
}

// sessionObjects are the objects of an exec session's recording, sorted:
// its asciicast and its raw stream file (which holds the output).
func sessionObjects(r recSession) []string {
	return []string{objectKey(r), strings.TrimSuffix(objectKey(r), ".cast.gz") + ".raw.gz"}
}

func TestRecordingUploadedReplayedFromStoreAndVerified(t *testing.T) {
	t.Parallel()
	e := newRecEnv(t, "")
	r := e.run(t, "marker-upload-"+randomToken(4))
	e.waitState(t, r.ID, "stored", 90*time.Second)

	if _, err := os.Stat(filepath.Join(e.b.DataDir, r.RecordingPath)); !os.IsNotExist(err) {
		t.Fatalf("the spool copy is still there after the upload: %v", err)
	}
	// An exec session: its cast and its raw stream file (the output).
	keys := e.s3.Objects(t, recBucket, "rec/")
	slices.Sort(keys)
	if want := sessionObjects(r); !slices.Equal(keys, want) {
		t.Fatalf("objects %v, want %v", keys, want)
	}
	out := e.b.MustRun(t, "", "replay", r.ID, "--cat")
	if !strings.Contains(out, strings.TrimPrefix(r.Command, "echo ")) {
		t.Fatalf("replay --cat from the object store: %q", out)
	}
	cast := filepath.Join(t.TempDir(), "s.cast")
	e.b.MustRun(t, "", "recording", "get", r.ID, "-f", cast)
	b, err := os.ReadFile(cast)
	if err != nil || !bytes.HasPrefix(b, []byte(`{"version":2`)) {
		t.Fatalf("recording get: %q %v", b, err)
	}
	if _, err := exec.LookPath("asciinema"); err == nil || e2eRequired() {
		requireBinaries(t, "asciinema")
		// asciinema 2 wants a terminal for cat; script(1) gives it one.
		out, err := exec.Command("script", "-qec", "asciinema cat "+cast, "/dev/null").CombinedOutput()
		if err != nil || !strings.Contains(string(out), strings.TrimPrefix(r.Command, "echo ")) {
			t.Fatalf("asciinema cat of the downloaded recording: %v\n%s", err, out)
		}
	}
	if out := e.b.MustRun(t, "", "recording", "verify", r.ID); !strings.Contains(out, " ok ") {
		t.Fatalf("verify: %s", out)
	}

	// Someone changes the object in the bucket: verify says so and fails.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(bytes.Replace(b, []byte("marker"), []byte("MARKER"), 1))
	zw.Close()
	e.s3.Put(t, recBucket, objectKey(r), gz.Bytes())
	stdout, stderr, err := e.b.Run(t, "recording", "verify", "--all")
	if err == nil || !strings.Contains(stdout, "changed") || !strings.Contains(stderr, "1 of 2 recording files failed verification") {
		t.Fatalf("verify of a changed object: err %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
}

func TestRecordingWaitsWhileStoreIsDownAcrossAKill(t *testing.T) {
	t.Parallel()
	e := newRecEnv(t, "")
	e.s3.Stop()
	r := e.run(t, "marker-down-"+randomToken(4))
	e.waitState(t, r.ID, "spool", 60*time.Second)
	var st struct {
		Pending []struct {
			SessionID string `json:"session_id"`
			Attempts  int    `json:"attempts"`
			LastError string `json:"last_error"`
		} `json:"pending"`
	}
	if !pollUntil(60*time.Second, 300*time.Millisecond, func() bool {
		json.Unmarshal([]byte(e.b.MustRun(t, "", "recording", "status", "-o", "json")), &st)
		// Its asciicast and its raw stream file.
		return len(st.Pending) == 2 && st.Pending[0].Attempts > 0 && st.Pending[1].Attempts > 0
	}) {
		t.Fatalf("recording status while the store is down: %+v", st)
	}
	if p := st.Pending[0]; p.SessionID != r.ID || !strings.Contains(p.LastError, "s3://"+recBucket) || strings.Contains(p.LastError, "\n") {
		t.Fatalf("pending upload: %+v; want the session and a one-line error naming the bucket", p)
	}
	// It replays from the spool meanwhile.
	if out := e.b.MustRun(t, "", "replay", r.ID, "--cat"); !strings.Contains(out, "marker-down-") {
		t.Fatalf("replay from the spool: %q", out)
	}

	// The node dies with the upload pending; the store comes back; the node restarts and
	// delivers what its spool held.
	e.b.Kill()
	e.s3.Start()
	e.b.Start()
	e.waitState(t, r.ID, "stored", 120*time.Second)
	if out := e.b.MustRun(t, "", "replay", r.ID, "--cat"); !strings.Contains(out, "marker-down-") {
		t.Fatalf("replay after the late upload: %q", out)
	}
	if out := e.b.MustRun(t, "", "recording", "verify", r.ID); !strings.Contains(out, " ok ") {
		t.Fatalf("verify after the late upload: %s", out)
	}
}

func TestRecordingWrongCredentialsSayWhichBucket(t *testing.T) {
	t.Parallel()
	e := newRecEnv(t, "", "AWS_ACCESS_KEY_ID=wrong", "AWS_SECRET_ACCESS_KEY=wrong-secret-000")
	r := e.run(t, "marker-creds-"+randomToken(4))
	var st struct {
		Pending []struct {
			LastError string `json:"last_error"`
		} `json:"pending"`
	}
	if !pollUntil(60*time.Second, 300*time.Millisecond, func() bool {
		json.Unmarshal([]byte(e.b.MustRun(t, "", "recording", "status", "-o", "json")), &st)
		// Its asciicast and its raw stream file.
		return len(st.Pending) == 2 && st.Pending[0].LastError != "" && st.Pending[1].LastError != ""
	}) {
		t.Fatalf("recording status with wrong credentials: %+v", st)
	}
	msg := st.Pending[0].LastError
	if !strings.Contains(msg, "s3://"+recBucket) || !strings.Contains(msg, "access refused") || strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") {
		t.Fatalf("the error %q: want one line naming the bucket and the refusal", msg)
	}
	if !strings.Contains(e.b.Log(), "the object store cannot be used now") {
		t.Errorf("serve did not say at start that the store refuses it:\n%s", e.b.Log())
	}
	if out := e.b.MustRun(t, "", "replay", r.ID, "--cat"); !strings.Contains(out, "marker-creds-") {
		t.Fatalf("replay from the spool: %q", out)
	}
}

func TestRecordingRetentionDeletesOnlyExpired(t *testing.T) {
	t.Parallel()
	e := newRecEnv(t, "")
	old := e.run(t, "marker-old-"+randomToken(4))
	e.waitState(t, old.ID, "stored", 90*time.Second)
	// Let the first session age, so that a cut-off falls well between the two; the cut-off is
	// measured again right before each prune.
	pollUntil(time.Minute, 200*time.Millisecond, func() bool { return time.Since(*e.show(t, old.ID).EndedAt) > 8*time.Second })
	recent := e.run(t, "marker-new-"+randomToken(4))
	e.waitState(t, recent.ID, "stored", 90*time.Second)
	oldEnd, newEnd := *e.show(t, old.ID).EndedAt, *e.show(t, recent.ID).EndedAt
	cutoff := func() string {
		mid := (time.Since(oldEnd) + time.Since(newEnd)) / 2
		return strconv.FormatInt(mid.Milliseconds(), 10) + "ms"
	}
	cut := cutoff()
	dry := e.b.MustRun(t, "", "recording", "prune", "--dry-run", "--older-than", cut, "-o", "csv")
	if !strings.Contains(dry, old.ID) || strings.Contains(dry, recent.ID) {
		t.Fatalf("prune --dry-run --older-than %s:\n%s", cut, dry)
	}
	if n := len(e.s3.Objects(t, recBucket, "rec/")); n != 4 { // two sessions, a cast and a raw file each
		t.Fatalf("the dry run deleted objects: %d left", n)
	}
	e.b.MustRun(t, "", "recording", "prune", "--older-than", cutoff())
	keys := e.s3.Objects(t, recBucket, "rec/")
	slices.Sort(keys)
	if !slices.Equal(keys, sessionObjects(recent)) {
		t.Fatalf("objects after prune: %v, want only %v", keys, sessionObjects(recent))
	}
	if st := e.show(t, old.ID).RecordingState; st != "expired" {
		t.Fatalf("the pruned session's recording state: %q", st)
	}
	if _, stderr, err := e.b.Run(t, "replay", old.ID, "--cat"); err == nil || !strings.Contains(stderr, "recording expired") {
		t.Fatalf("replay of an expired recording: %v %s", err, stderr)
	}
	if ops := e.b.MustRun(t, "", "audit", "operations", "-o", "csv"); !strings.Contains(ops, "recording.expire") || !strings.Contains(ops, old.ID) {
		t.Fatalf("the prune is not in the operations audit:\n%s", ops)
	}
	if out := e.b.MustRun(t, "", "replay", recent.ID, "--cat"); !strings.Contains(out, "marker-new-") {
		t.Fatalf("the recent recording: %q", out)
	}
}

func TestRecordingPartsOutliveALostNode(t *testing.T) {
	t.Parallel()
	requireBinaries(t, "tmux")
	e := newRecEnv(t, "upload_part_interval: 1s\n")
	l := e.b.Login("alice@web1")
	l.KeyFile = e.key.Path
	term := termSSH(t, l, TermOptions{})
	term.waitForScreen(regexp.MustCompile(`\$ ?$`), 15*time.Second)
	id := activeSession(t, e.b)
	term.Line("echo part-$((6*7))")
	term.waitForScreen(regexp.MustCompile(`part-42`), 10*time.Second)
	// Wait until a part holding the output is in the store.
	if !pollUntil(60*time.Second, 300*time.Millisecond, func() bool {
		for _, k := range e.s3.Objects(t, recBucket, "rec/") {
			if strings.Contains(k, id+".cast.gz.part-") && strings.Contains(e.s3.GetGunzip(t, recBucket, k), "part-42") {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no part of the running session holds its output: %v", e.s3.Objects(t, recBucket, "rec/"))
	}
	// The node is lost with its disk: only the object store is left.
	e.b.Kill()
	if err := os.RemoveAll(filepath.Join(e.b.DataDir, "recordings")); err != nil {
		t.Fatal(err)
	}
	e.b.Start()
	if out := e.b.MustRun(t, "", "replay", id, "--cat"); !strings.Contains(out, "part-42") {
		t.Fatalf("replay from the parts: %q", out)
	}
}

func TestRecordingUploadKilledMidwayResumes(t *testing.T) {
	t.Parallel()
	e := newRecEnv(t, "log_level: debug\n")
	l := e.b.Login("alice")
	l.KeyFile = e.key.Path
	// About 100 MB of recording: its upload takes a while.
	if res := runSSH(t, l, nil, "web1", "head -c 75000000 /dev/zero | base64 -w 76; echo big-done"); res.ExitCode != 0 || !strings.Contains(res.Stdout, "big-done") {
		t.Fatalf("ssh web1: exit %d, %d bytes, stderr %q", res.ExitCode, len(res.Stdout), res.Stderr)
	}
	id := activeOrLastSession(t, e)
	if !pollUntil(60*time.Second, 20*time.Millisecond, func() bool {
		return strings.Contains(e.b.Log(), `msg="recording upload started" component=recordings session=`+id)
	}) {
		t.Fatal("the upload did not start")
	}
	e.b.Kill()
	if st := e.show(t, id).RecordingState; st != "spool" {
		t.Fatalf("the upload finished before the kill (state %q): the test needs a bigger recording", st)
	}
	e.b.Start()
	e.waitState(t, id, "stored", 180*time.Second)
	if out := e.b.MustRun(t, "", "recording", "verify", id); !strings.Contains(out, " ok ") {
		t.Fatalf("verify after the resumed upload: %s", out)
	}
	if keys := e.s3.Objects(t, recBucket, "rec/"); len(keys) != 2 {
		t.Fatalf("objects: %v, want the one recording (its cast and raw file)", keys)
	}
}

// activeOrLastSession is the id of the latest session.
func activeOrLastSession(t *testing.T, e *recEnv) string {
	t.Helper()
	var rows []recSession
	if err := json.Unmarshal([]byte(e.b.MustRun(t, "", "session", "list", "-o", "json")), &rows); err != nil || len(rows) == 0 {
		t.Fatalf("session list: %v", err)
	}
	return rows[len(rows)-1].ID
}
