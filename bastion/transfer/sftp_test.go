package transfer

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"github.com/jms-bastion/jms/store"
)

func names(infos []fs.FileInfo) []string {
	var out []string
	for _, fi := range infos {
		out = append(out, fi.Name())
	}
	slices.Sort(out)
	return out
}

func TestVirtualRoot(t *testing.T) {
	h := newHarness(t,
		grantSpec{name: "g1", assets: []string{"web1"}},
		grantSpec{name: "g2", assets: []string{"web2"}, actions: []string{"download"}},
		grantSpec{name: "g3", assets: []string{"web3"}, actions: []string{"connect"}},
	)
	c, end := h.sftpSession(SFTPRequest{})
	infos, err := c.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(infos), []string{"web1", "web2@deploy", "web2@root"}; !slices.Equal(got, want) {
		t.Fatalf("root lists %v, want %v", got, want)
	}
	for _, fi := range infos {
		if !fi.IsDir() {
			t.Errorf("%s is not a directory", fi.Name())
		}
	}
	if n := h.asset.open(); n != 0 {
		t.Errorf("listing the root opened %d connections to assets, want none", n)
	}
	wd, err := c.Getwd()
	if err != nil || wd != "/" {
		t.Errorf("Getwd = %q, %v; want /", wd, err)
	}

	// Files on web1 and web2 (both served from the same directory).
	if err := os.WriteFile(filepath.Join(h.dir, "a.txt"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/web1" + h.dir, "/web2@root" + h.dir, "/web2@deploy" + h.dir} {
		infos, err := c.ReadDir(p)
		if err != nil {
			t.Fatalf("ReadDir %s: %v", p, err)
		}
		if got := names(infos); !slices.Equal(got, []string{"a.txt"}) {
			t.Errorf("ReadDir %s = %v", p, got)
		}
	}
	// One connection per folder, kept for the session.
	for range 3 {
		if _, err := c.Stat("/web1" + h.dir + "/a.txt"); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.asset.open(); n != 3 {
		t.Errorf("%d connections to the assets, want 3 (one per folder used)", n)
	}
	// web3 (connect only) and unknown assets are not there.
	for _, p := range []string{"/web3", "/web3" + h.dir, "/nope/x", "/web1/../web3" + h.dir, "/web2"} {
		if _, err := c.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat %s: %v, want not exist", p, err)
		}
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(func() bool { return h.asset.open() == 0 }) {
		t.Errorf("%d connections to assets left after the session", h.asset.open())
	}
	ss, err := h.st.ListSessions(h.ctx, store.SessionQuery{})
	if err != nil || len(ss) != 1 {
		t.Fatalf("sessions %v, %v", ss, err)
	}
	if ss[0].Kind != store.SessionSFTP || ss[0].Status != store.StatusClosed || ss[0].User != "alice" {
		t.Errorf("session row %+v", ss[0])
	}
}

func TestRootIsReadOnly(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g1", assets: []string{"web1"}})
	c, _ := h.sftpSession(SFTPRequest{})
	checks := map[string]error{
		"create /x":          func() error { _, err := c.Create("/x"); return err }(),
		"mkdir /web9":        c.Mkdir("/web9"),
		"remove /web1":       c.Remove("/web1"),
		"rmdir /web1":        c.RemoveDirectory("/web1"),
		"rename /web1":       c.Rename("/web1", "/web2"),
		"create /web1":       func() error { _, err := c.Create("/web1"); return err }(),
		"posix-rename /web1": c.PosixRename("/web1", "/webx"),
		"chmod /web1":        c.Chmod("/web1", 0o777),
	}
	for what, err := range checks {
		// web9 and x are no folders: not there rather than refused.
		notThere := strings.HasSuffix(what, "/web9") || strings.HasSuffix(what, "/x")
		if !errors.Is(err, fs.ErrPermission) && !(notThere && errors.Is(err, fs.ErrNotExist)) {
			t.Errorf("%s: %v, want permission denied", what, err)
		}
	}
}

// TestActions runs every operation with and without the action it
// needs, and checks the audit.
func TestActions(t *testing.T) {
	type op struct {
		name    string
		needs   []string // the actions it needs
		auditOp string
		run     func(t *testing.T, c *sftp.Client, base, dir string) error
	}
	write := func(t *testing.T, dir, name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ops := []op{
		{"download", []string{"download"}, OpDownload, func(t *testing.T, c *sftp.Client, base, dir string) error {
			write(t, dir, "f", "content")
			f, err := c.Open(base + "/f")
			if err != nil {
				return err
			}
			defer f.Close()
			b, err := io.ReadAll(f)
			if err == nil && string(b) != "content" {
				t.Errorf("downloaded %q", b)
			}
			return err
		}},
		{"upload", []string{"upload"}, OpUpload, func(t *testing.T, c *sftp.Client, base, dir string) error {
			f, err := c.Create(base + "/up")
			if err != nil {
				return err
			}
			if _, err := f.Write([]byte("uploaded")); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "up")); string(b) != "uploaded" {
				t.Errorf("asset has %q", b)
			}
			return nil
		}},
		{"mkdir", []string{"upload"}, OpMkdir, func(t *testing.T, c *sftp.Client, base, dir string) error {
			return c.Mkdir(base + "/d")
		}},
		{"remove", []string{"delete"}, OpRemove, func(t *testing.T, c *sftp.Client, base, dir string) error {
			write(t, dir, "gone", "x")
			return c.Remove(base + "/gone")
		}},
		{"rmdir", []string{"delete"}, OpRmdir, func(t *testing.T, c *sftp.Client, base, dir string) error {
			os.Mkdir(filepath.Join(dir, "empty"), 0o755)
			return c.RemoveDirectory(base + "/empty")
		}},
		{"rename", []string{"upload"}, OpRename, func(t *testing.T, c *sftp.Client, base, dir string) error {
			write(t, dir, "old", "x")
			return c.Rename(base+"/old", base+"/new")
		}},
		{"rename over", []string{"upload", "delete"}, OpRename, func(t *testing.T, c *sftp.Client, base, dir string) error {
			write(t, dir, "src", "new")
			write(t, dir, "dst", "old")
			err := c.PosixRename(base+"/src", base+"/dst")
			if err == nil {
				if b, _ := os.ReadFile(filepath.Join(dir, "dst")); string(b) != "new" {
					t.Errorf("dst has %q after the rename", b)
				}
			}
			return err
		}},
		{"chmod", []string{"upload"}, OpSetstat, func(t *testing.T, c *sftp.Client, base, dir string) error {
			write(t, dir, "m", "x")
			return c.Chmod(base+"/m", 0o600)
		}},
		{"list", nil, OpList, func(t *testing.T, c *sftp.Client, base, dir string) error {
			_, err := c.ReadDir(base)
			return err
		}},
	}
	grants := [][]string{{"upload"}, {"download"}, {"delete"}, {"upload", "delete"}, {"upload", "download", "delete"}}
	for _, o := range ops {
		for _, actions := range grants {
			allowed := true
			for _, need := range o.needs {
				allowed = allowed && slices.Contains(actions, need)
			}
			t.Run(o.name+"/"+strings.Join(actions, "+"), func(t *testing.T) {
				h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}, actions: actions})
				c, end := h.sftpSession(SFTPRequest{})
				err := o.run(t, c, "/web1"+h.dir, h.dir)
				if allowed && err != nil {
					t.Fatalf("with %v: %v, want success", actions, err)
				}
				if !allowed && !errors.Is(err, fs.ErrPermission) {
					t.Fatalf("with %v: %v, want permission denied", actions, err)
				}
				end()
				want := ResultOK
				if !allowed {
					want = ResultDenied
				}
				var found bool
				for _, e := range h.events() {
					if e.Operation == o.auditOp && e.Result == want {
						found = true
						if e.User != "alice" || e.Asset != "web1" || e.Account != "root" || e.SessionID == "" ||
							!strings.HasPrefix(e.Path, h.dir) {
							t.Errorf("event %+v", e)
						}
						if want == ResultDenied && !strings.Contains(e.Detail, "needs the") {
							t.Errorf("denied event without a reason: %+v", e)
						}
					}
				}
				if !found {
					t.Errorf("no %s event with result %s in %+v", o.auditOp, want, h.events())
				}
			})
		}
	}
}

func TestTransferAuditedOnceWithSize(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	c, end := h.sftpSession(SFTPRequest{})
	data := make([]byte, 5<<20+123)
	rand.Read(data)
	f, err := c.Create("/web1" + h.dir + "/big")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	f, err = c.Open("/web1" + h.dir + "/big")
	if err != nil {
		t.Fatal(err)
	}
	var back bytes.Buffer
	if _, err := f.WriteTo(&back); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !bytes.Equal(back.Bytes(), data) {
		t.Fatal("downloaded data differs")
	}
	end()
	var ups, downs []store.TransferEvent
	for _, e := range h.events() {
		switch e.Operation {
		case OpUpload:
			ups = append(ups, e)
		case OpDownload:
			downs = append(downs, e)
		}
	}
	if len(ups) != 1 || ups[0].Size != int64(len(data)) || ups[0].Result != ResultOK {
		t.Errorf("upload events %+v", ups)
	}
	if len(downs) != 1 || downs[0].Size != int64(len(data)) || downs[0].Result != ResultOK {
		t.Errorf("download events %+v", downs)
	}
}

func TestTraversal(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g1", assets: []string{"web1"}, actions: []string{"download"}},
		grantSpec{name: "g2", assets: []string{"web2"}, accounts: []string{"root"}, actions: []string{"upload"}})
	if err := os.WriteFile(filepath.Join(h.dir, "s"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := h.sftpSession(SFTPRequest{})
	// Each of these paths names web3 (not granted) or nothing.
	for _, p := range []string{
		"/web3" + h.dir + "/s",
		"/web1/../web3" + h.dir + "/s",
		"/web1/../../web3" + h.dir + "/s",
		"web3" + h.dir + "/s",
		"/../web3" + h.dir + "/s",
		h.dir + "/s", // the asset path without a folder
		"/web1/..",   // the root: not a file
		"/./web3/./" + h.dir + "/s",
	} {
		if _, err := c.Open(p); err == nil {
			t.Errorf("Open %s succeeded", p)
		}
	}
	// `..` that lands in another granted folder is authorized there:
	// web2 gives upload only, so no download.
	if _, err := c.Open("/web1/../web2" + h.dir + "/s"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Open via .. into web2: %v, want permission denied (web2 has no download)", err)
	}
	// and within web1, `..` stays on web1.
	f, err := c.Open("/web1" + h.dir + "/x/../s")
	if err != nil {
		t.Fatalf("Open within web1: %v", err)
	}
	f.Close()
	for _, e := range h.events() {
		if e.Asset == "web3" {
			t.Errorf("an event names web3: %+v", e)
		}
	}
}

func TestSymlinkTargetsShownInFolder(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	if err := os.Symlink("/etc/hostname", filepath.Join(h.dir, "l")); err != nil {
		t.Fatal(err)
	}
	c, _ := h.sftpSession(SFTPRequest{})
	dst, err := c.ReadLink("/web1" + h.dir + "/l")
	if err != nil || dst != "/web1/etc/hostname" {
		t.Errorf("ReadLink = %q, %v; want /web1/etc/hostname", dst, err)
	}
	if err := c.Symlink("/web1/etc/passwd", "/web1"+h.dir+"/l2"); err == nil {
		t.Error("Symlink succeeded, want unsupported")
	}
}

func TestDirect(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1", "web2"}})
	if err := os.WriteFile(filepath.Join(h.dir, "home.txt"), []byte("at home"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, end := h.sftpSession(SFTPRequest{Asset: h.access("web1")})
	wd, err := c.Getwd()
	if err != nil || wd != h.dir {
		t.Fatalf("Getwd = %q, %v; want the account's home %s", wd, err, h.dir)
	}
	f, err := c.Open("home.txt")
	if err != nil {
		t.Fatalf("relative open: %v", err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "at home" {
		t.Errorf("read %q", b)
	}
	if _, err := c.Stat(h.dir + "/home.txt"); err != nil {
		t.Errorf("absolute stat: %v", err)
	}
	end()
	ss, _ := h.st.ListSessions(h.ctx, store.SessionQuery{})
	if len(ss) != 1 || ss[0].Asset != "web1" || ss[0].Account != "root" || ss[0].Kind != store.SessionSFTP {
		t.Errorf("sessions %+v", ss)
	}

	// web2 has two accounts: one must be named.
	err = h.svc.ServeSFTP(h.ctx, pipeRWC{}, SFTPRequest{User: "alice", Asset: h.access("web2")})
	var ue *UserError
	if !errors.As(err, &ue) || !strings.Contains(ue.Msg, "several accounts on web2 (deploy, root)") {
		t.Errorf("web2 without an account: %v", err)
	}
	c2, _ := h.sftpSession(SFTPRequest{Asset: h.access("web2"), Account: "deploy"})
	if _, err := c2.Stat("home.txt"); err != nil {
		t.Errorf("web2 as deploy: %v", err)
	}
	err = h.svc.ServeSFTP(h.ctx, pipeRWC{}, SFTPRequest{User: "alice", Asset: h.access("web2"), Account: "nobody"})
	if !errors.As(err, &ue) || !strings.Contains(ue.Msg, `no file access to web2 as "nobody"`) {
		t.Errorf("web2 as nobody: %v", err)
	}
}

func TestAssetDown(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	h.asset.close()
	var stderr syncBuffer
	c, _ := h.sftpSession(SFTPRequest{Stderr: &stderr})
	if _, err := c.ReadDir("/web1/"); err == nil {
		t.Fatal("ReadDir on a dead asset succeeded")
	}
	if !strings.Contains(stderr.String(), "jms: cannot reach web1") {
		t.Errorf("stderr %q", stderr.String())
	}
	var found bool
	for _, e := range h.events() {
		found = found || (e.Operation == OpConnect && e.Result == ResultFailed)
	}
	if !found {
		t.Errorf("no failed connect event: %+v", h.events())
	}
}

func TestGrantRemovedMidSession(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	c, _ := h.sftpSession(SFTPRequest{})
	if _, err := c.ReadDir("/web1" + h.dir); err != nil {
		t.Fatal(err)
	}
	if err := h.st.RemoveGrant(h.ctx, "g"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadDir("/web1" + h.dir); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("after the grant went: %v, want permission denied", err)
	}
}

// TestOpenFileRevoked: a file already open stops moving bytes within the
// recheck once its grant loses the action (upload to write, download to
// read), and the session's needs name the actions of its open files.
func TestOpenFileRevoked(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g", assets: []string{"web1"}})
	h.svc.recheck = 50 * time.Millisecond
	if err := os.WriteFile(filepath.Join(h.dir, "src"), bytes.Repeat([]byte("x"), 1<<16), 0o644); err != nil {
		t.Fatal(err)
	}
	started := make(chan SFTPSession, 1)
	c, _ := h.sftpSession(SFTPRequest{Asset: h.access("web1"), OnStart: func(s SFTPSession) { started <- s }})
	live := <-started
	if live.Asset != "web1" || live.Account != "root" || live.AssetID == 0 || len(live.Needs()) != 0 {
		t.Fatalf("OnStart got %+v, needs %v", live, live.Needs())
	}
	quiet := live.LastActive()
	time.Sleep(20 * time.Millisecond)
	if _, err := c.Stat(h.dir); err != nil || !live.LastActive().After(quiet) {
		t.Errorf("a request is no activity: %v, last active %v then %v", err, quiet, live.LastActive())
	}
	w, err := c.Create(filepath.Join(h.dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Open(filepath.Join(h.dir, "src"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1024)
	if _, err := w.Write([]byte("before")); err != nil {
		t.Fatalf("write before the revocation: %v", err)
	}
	if _, err := r.Read(buf); err != nil {
		t.Fatalf("read before the revocation: %v", err)
	}
	if got := live.Needs(); !slices.Equal(got, []string{store.ActionDownload, store.ActionUpload}) {
		t.Errorf("needs with a file open each way: %v", got)
	}

	if _, err := h.st.UpdateGrant(h.ctx, "g", store.GrantUpdate{Actions: []string{store.ActionConnect, store.ActionDownload}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * h.svc.recheck)
	if _, err := w.Write([]byte("after")); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("write on the open file after upload was revoked: %v, want permission denied", err)
	}
	if _, err := r.ReadAt(buf, 1024); err != nil {
		t.Errorf("read after only upload was revoked: %v", err)
	}
	if _, err := h.st.UpdateGrant(h.ctx, "g", store.GrantUpdate{Actions: []string{store.ActionConnect}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * h.svc.recheck)
	if _, err := r.ReadAt(buf, 2048); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("read on the open file after download was revoked: %v, want permission denied", err)
	}
	w.Close()
	r.Close()
	if !waitFor(func() bool { return len(live.Needs()) == 0 }) {
		t.Errorf("needs after the files closed: %v", live.Needs())
	}
	got, err := os.ReadFile(filepath.Join(h.dir, "dst"))
	if err != nil || string(got) != "before" {
		t.Errorf("dst holds %q, %v; want only what was written before", got, err)
	}
	var refused int
	for _, e := range h.events() {
		if e.Result == ResultDenied && strings.Contains(e.Detail, "refused while open") {
			refused++
		}
	}
	if refused != 2 {
		t.Errorf("%d refused-while-open events, want 2: %+v", refused, h.events())
	}
}

// TestRootSaysWhy: mkdir and put at the virtual root are refused with
// the reason and where to do it instead, in the status message and on
// stderr; a path naming an asset she reaches as several accounts names
// their folders.
func TestRootSaysWhy(t *testing.T) {
	h := newHarness(t, grantSpec{name: "g1", assets: []string{"web1"}},
		grantSpec{name: "g2", assets: []string{"web2"}, actions: []string{"download"}})
	var stderr syncBuffer
	c, _ := h.sftpSession(SFTPRequest{Stderr: &stderr})
	for _, p := range []string{"/newdir", "newdir", "/web1", "/"} {
		err := c.Mkdir(p)
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("mkdir %s: %v", p, err)
		}
	}
	if _, err := c.Create("/x.txt"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("create /x.txt: %v", err)
	}
	if err := c.Mkdir("/web1" + h.dir + "/made"); err != nil {
		t.Errorf("mkdir inside /web1: %v", err)
	}
	_, err := c.ReadDir("/web2")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ls /web2: %v", err)
	}
	c.Stat("/web2")
	out := stderr.String()
	// pkg/sftp's client keeps the status code only; OpenSSH's sftp shows
	// stderr (e2e TestSFTPRootMkdirAndAssetFolder).
	if !strings.Contains(out, "jms: mkdir /newdir: the root holds one folder per asset: mkdir inside /web1\n") ||
		!strings.Contains(out, "jms: put /x.txt: the root holds one folder per asset: put inside /web1\n") ||
		strings.Count(out, "jms: web2 has one folder per account: /web2@deploy, /web2@root\n") != 1 {
		t.Errorf("stderr %q", out)
	}
	denied := 0
	for _, e := range h.events() {
		if e.Operation == OpMkdir && e.Result == ResultDenied && strings.Contains(e.Detail, "one folder per asset") {
			denied++
		}
	}
	if denied != 4 {
		t.Errorf("%d mkdir refusals audited, want 4: %+v", denied, h.events())
	}
}
