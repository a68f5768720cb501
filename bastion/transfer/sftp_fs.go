package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"

	"github.com/jms-bastion/jms/store"
)

// Operations as the transfer audit records them.
const (
	OpDownload = "download"
	OpUpload   = "upload"
	OpList     = "list"
	OpStat     = "stat"
	OpMkdir    = "mkdir"
	OpRmdir    = "rmdir"
	OpRemove   = "remove"
	OpRename   = "rename"
	OpSetstat  = "setstat"
	OpConnect  = "connect"
	OpForward  = "forward"
)

// Results as the transfer audit records them.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultFailed = "failed"
)

// target is what one path of the session names.
type target struct {
	f     *folder // nil for the virtual root itself
	vpath string  // the clean path as the client sees it
	rpath string  // the path on the asset
}

// isFolder reports whether t is a folder of the virtual root itself
// (`/web1`): it stands for the asset's "/", but cannot be changed.
func (v *vfs) isFolder(t target) bool { return v.direct == nil && t.f != nil && t.rpath == "/" }

// resolve maps a path of the session to its folder and the path on the
// asset. A folder that is not in the session (an asset not granted, or
// no asset at all) does not exist.
func (v *vfs) resolve(p string) (target, error) {
	if v.direct != nil {
		rp := p
		if !strings.HasPrefix(rp, "/") {
			rp = path.Join(v.home, rp)
		}
		rp = path.Clean(rp)
		return target{f: v.direct, vpath: rp, rpath: rp}, nil
	}
	name, rest := splitVirtual(p)
	if name == "" {
		return target{vpath: "/", rpath: "/"}, nil
	}
	f, ok := v.folders[name]
	if !ok {
		if alts := v.accountFolders(name); len(alts) > 0 {
			// `/web1` of an asset she reaches as several accounts: say
			// which folders are hers (once on stderr, where OpenSSH's
			// sftp shows it).
			msg := fmt.Sprintf("%s has one folder per account: %s", name, strings.Join(alts, ", "))
			v.tellOnce("jms: " + msg)
			return target{}, &statusError{msg: msg, code: sftp.ErrSSHFxNoSuchFile}
		}
		return target{}, &fs.PathError{Op: "open", Path: cleanAbs(p), Err: fs.ErrNotExist}
	}
	return target{f: f, vpath: joinVirtual(name, rest), rpath: rest}, nil
}

// allow checks that the account may do op on t now, needing all the
// actions named (none: any file action). A refusal is audited and
// returned as a permission error.
func (v *vfs) allow(ctx context.Context, t target, op string, actions ...string) error {
	if t.f == nil {
		err := denied("the virtual root holds one folder per asset and nothing else")
		v.event(ctx, nil, op, t.vpath, 0, ResultDenied, err.Error())
		return err
	}
	if _, _, err := v.grant(ctx, t.f, op, actions...); err != nil {
		var de *deniedError
		if errors.As(err, &de) {
			v.log.Info("operation refused", "op", op, "asset", t.f.asset.Name, "account", t.f.account, "path", t.rpath, "why", de.why)
			v.event(ctx, t.f, op, t.rpath, 0, ResultDenied, de.why)
		}
		return err
	}
	return nil
}

// accountFolders returns the folders of asset name when she reaches it
// as several accounts (`/web1@deploy`, `/web1@root`), sorted.
func (v *vfs) accountFolders(name string) []string {
	var out []string
	for _, n := range v.order {
		if f := v.folders[n]; f.asset.Name == name && n != name {
			out = append(out, "/"+n)
		}
	}
	return out
}

// tellOnce writes msg on the session's stderr, once per session.
func (v *vfs) tellOnce(msg string) {
	v.mu.Lock()
	if v.told == nil {
		v.told = map[string]bool{}
	}
	first := !v.told[msg]
	v.told[msg] = true
	v.mu.Unlock()
	if first {
		fmt.Fprintln(v.stderr, msg)
	}
}

// atRoot reports whether p is the virtual root or a name right in it
// (`/newdir`, `/web1`): what the root holds is the assets' folders.
func (v *vfs) atRoot(p string) bool {
	if v.direct != nil {
		return false
	}
	_, rest := splitVirtual(p)
	return rest == "/"
}

// rootRefused refuses op on p, in the virtual root itself, saying why
// and where to do it instead, on the session's stderr (OpenSSH's sftp
// shows that, not the status message) and in the status message (other
// clients show that), and audits it.
func (v *vfs) rootRefused(ctx context.Context, op, p, verb string) error {
	where := "the folder of an asset"
	if len(v.order) > 0 {
		where = "/" + v.order[0]
	}
	msg := fmt.Sprintf("the root holds one folder per asset: %s inside %s", verb, where)
	v.event(ctx, nil, op, p, 0, ResultDenied, msg)
	fmt.Fprintf(v.stderr, "jms: %s %s: %s\n", verb, p, msg)
	return &statusError{msg: msg, code: sftp.ErrSSHFxPermissionDenied}
}

// upstream returns the SFTP client of t's folder.
func (v *vfs) upstream(ctx context.Context, t target) (*sftp.Client, error) {
	return v.client(ctx, t.f, t.rpath)
}

// Fileread opens a file to download: it needs the download action.
func (v *vfs) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	return v.open(r, os.O_RDONLY, OpDownload, store.ActionDownload)
}

// Filewrite opens a file to upload: it needs the upload action.
func (v *vfs) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return v.open(r, writeFlags(r.Pflags()), OpUpload, store.ActionUpload)
}

// OpenFile opens a file to read and write (some clients upload so): it
// needs upload, and reads through it need download too.
func (v *vfs) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return v.open(r, writeFlags(r.Pflags())&^os.O_WRONLY|os.O_RDWR, OpUpload, store.ActionUpload)
}

func writeFlags(p sftp.FileOpenFlags) int {
	fl := os.O_WRONLY
	if p.Creat {
		fl |= os.O_CREATE
	}
	if p.Trunc {
		fl |= os.O_TRUNC
	}
	if p.Append {
		fl |= os.O_APPEND
	}
	if p.Excl {
		fl |= os.O_EXCL
	}
	return fl
}

func (v *vfs) open(r *sftp.Request, flags int, op string, actions ...string) (*transferFile, error) {
	ctx := v.ctx
	if op == OpUpload && v.atRoot(r.Filepath) {
		if _, ok := v.folders[path.Base(cleanAbs(r.Filepath))]; !ok {
			return nil, v.rootRefused(ctx, op, cleanAbs(r.Filepath), "put")
		}
	}
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	if t.f == nil || v.isFolder(t) {
		return nil, v.allow(ctx, target{vpath: t.vpath}, op)
	}
	if err := v.allow(ctx, t, op, actions...); err != nil {
		return nil, err
	}
	c, err := v.upstream(ctx, t)
	if err != nil {
		return nil, err
	}
	f, err := c.OpenFile(t.rpath, flags)
	if err != nil {
		err = mapError(err)
		v.event(ctx, t.f, op, t.rpath, 0, ResultFailed, err.Error())
		return nil, err
	}
	tf := &transferFile{v: v, t: t, op: op, f: f, start: time.Now()}
	if op == OpDownload {
		tf.readLease = v.newLease(t, OpDownload, store.ActionDownload)
	} else {
		tf.writeLease = v.newLease(t, OpUpload, store.ActionUpload)
		if flags&os.O_RDWR != 0 {
			if _, _, err := v.grant(ctx, t.f, OpDownload, store.ActionDownload); err == nil {
				tf.readLease = v.newLease(t, OpDownload, store.ActionDownload)
			}
		}
	}
	return tf, nil
}

// transferFile is a file open on the asset. Reads and writes go
// straight to the asset's SFTP server (several in flight at once, as
// the client sends them), each under the lease of its action, which
// checks the grant again every few seconds; the transfer is audited
// once, at close, with the bytes moved.
type transferFile struct {
	v     *vfs
	t     target
	op    string
	f     *sftp.File
	start time.Time

	readLease  *lease // nil: opened to write by an account without download
	writeLease *lease // nil: opened to read
	readDenied atomic.Bool

	read, written atomic.Int64
	raOnce        sync.Once
	ra            *readAhead // set at the first read, when it is at offset 0
	once          sync.Once
	mu            sync.Mutex
	terr          error
}

func (tf *transferFile) ReadAt(p []byte, off int64) (int, error) {
	if tf.readLease == nil {
		if !tf.readDenied.Swap(true) {
			why := fmt.Sprintf("reading needs the download action on %s as %s", tf.t.f.asset.Name, tf.t.f.account)
			tf.v.event(tf.v.ctx, tf.t.f, OpDownload, tf.t.rpath, 0, ResultDenied, why)
		}
		return 0, denied("reading needs the download action")
	}
	if err := tf.readLease.check(); err != nil {
		return 0, err
	}
	if tf.op == OpDownload {
		tf.raOnce.Do(func() {
			if off == 0 {
				tf.ra = newReadAhead(tf.f)
			}
		})
	}
	var n int
	var err error
	if tf.ra != nil {
		n, err = tf.ra.ReadAt(p, off)
	} else {
		n, err = tf.f.ReadAt(p, off)
	}
	tf.read.Add(int64(n))
	tf.v.s.metrics.RelayedOut(n)
	if err != nil && !errors.Is(err, io.EOF) {
		err = mapError(err)
	}
	return n, err
}

func (tf *transferFile) WriteAt(p []byte, off int64) (int, error) {
	if tf.writeLease == nil {
		return 0, denied("the file is open to read")
	}
	if err := tf.writeLease.check(); err != nil {
		tf.TransferError(err)
		return 0, err
	}
	n, err := tf.f.WriteAt(p, off)
	tf.written.Add(int64(n))
	tf.v.s.metrics.RelayedIn(n)
	if err != nil {
		err = mapError(err)
		tf.TransferError(err)
	}
	return n, err
}

// TransferError notes that the transfer broke (the client went away).
func (tf *transferFile) TransferError(err error) {
	tf.mu.Lock()
	if tf.terr == nil {
		tf.terr = err
	}
	tf.mu.Unlock()
}

// Close closes the file on the asset and audits the transfer.
func (tf *transferFile) Close() error {
	var err error
	tf.once.Do(func() {
		tf.readLease.release()
		tf.writeLease.release()
		tf.raOnce.Do(func() {})
		if tf.ra != nil {
			tf.ra.Close()
		}
		err = tf.f.Close()
		if err != nil {
			err = mapError(err)
		}
		tf.mu.Lock()
		terr := tf.terr
		tf.mu.Unlock()
		if terr == nil {
			terr = err
		}
		size := tf.read.Load()
		if tf.op == OpUpload {
			size = tf.written.Load()
		}
		result, detail := ResultOK, ""
		if terr != nil {
			result, detail = ResultFailed, terr.Error()
		}
		if tf.op == OpUpload && tf.read.Load() > 0 {
			detail = strings.TrimSpace(fmt.Sprintf("read %d bytes too; %s", tf.read.Load(), detail))
		}
		tf.v.log.Info("file transfer", "op", tf.op, "asset", tf.t.f.asset.Name, "account", tf.t.f.account,
			"path", tf.t.rpath, "bytes", size, "result", result, "duration", time.Since(tf.start).Round(time.Millisecond))
		tf.v.event(tf.v.ctx, tf.t.f, tf.op, tf.t.rpath, size, result, detail)
	})
	return err
}

// Filecmd runs the commands that change the asset's files.
func (v *vfs) Filecmd(r *sftp.Request) error {
	ctx := v.ctx
	if r.Method == "Mkdir" && v.atRoot(r.Filepath) {
		return v.rootRefused(ctx, OpMkdir, cleanAbs(r.Filepath), "mkdir")
	}
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return err
	}
	switch r.Method {
	case "Setstat":
		return v.setstat(ctx, t, r)
	case "Rename", "PosixRename":
		return v.rename(ctx, t, r)
	case "Rmdir":
		return v.simple(ctx, t, OpRmdir, store.ActionDelete, func(c *sftp.Client) error { return c.RemoveDirectory(t.rpath) })
	case "Remove":
		return v.simple(ctx, t, OpRemove, store.ActionDelete, func(c *sftp.Client) error { return c.Remove(t.rpath) })
	case "Mkdir":
		return v.simple(ctx, t, OpMkdir, store.ActionUpload, func(c *sftp.Client) error { return c.Mkdir(t.rpath) })
	case "Symlink", "Link":
		// Links made through the bastion would need their targets mapped
		// between the virtual root and the asset; they are not offered.
		v.event(ctx, t.f, strings.ToLower(r.Method), t.rpath, 0, ResultFailed, "links cannot be made through the bastion")
		return sftp.ErrSSHFxOpUnsupported
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename is rename over an existing target (posix-rename@openssh.com).
func (v *vfs) PosixRename(r *sftp.Request) error {
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return err
	}
	return v.rename(v.ctx, t, r)
}

// StatVFS answers df: it needs any file action.
func (v *vfs) StatVFS(r *sftp.Request) (*sftp.StatVFS, error) {
	ctx := v.ctx
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	if err := v.allow(ctx, t, "statvfs"); err != nil {
		return nil, err
	}
	c, err := v.upstream(ctx, t)
	if err != nil {
		return nil, err
	}
	st, err := c.StatVFS(t.rpath)
	if err != nil {
		return nil, mapError(err)
	}
	return st, nil
}

// simple runs one command that needs one action, and audits it.
func (v *vfs) simple(ctx context.Context, t target, op, action string, do func(*sftp.Client) error) error {
	if v.isFolder(t) {
		t = target{vpath: t.vpath}
	}
	if err := v.allow(ctx, t, op, action); err != nil {
		return err
	}
	c, err := v.upstream(ctx, t)
	if err != nil {
		return err
	}
	if err := do(c); err != nil {
		err = mapError(err)
		v.event(ctx, t.f, op, t.rpath, 0, ResultFailed, err.Error())
		return err
	}
	v.event(ctx, t.f, op, t.rpath, 0, ResultOK, "")
	return nil
}

// setstat changes modes, owners, times or the size: it needs upload.
func (v *vfs) setstat(ctx context.Context, t target, r *sftp.Request) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	return v.simple(ctx, t, OpSetstat, store.ActionUpload, func(c *sftp.Client) error {
		if attrs == nil {
			return nil
		}
		if flags.Size {
			if err := c.Truncate(t.rpath, int64(attrs.Size)); err != nil {
				return err
			}
		}
		if flags.Permissions {
			if err := c.Chmod(t.rpath, fs.FileMode(attrs.Mode&0o7777)); err != nil {
				return err
			}
		}
		if flags.UidGid {
			if err := c.Chown(t.rpath, int(attrs.UID), int(attrs.GID)); err != nil {
				return err
			}
		}
		if flags.Acmodtime {
			if err := c.Chtimes(t.rpath, time.Unix(int64(attrs.Atime), 0), time.Unix(int64(attrs.Mtime), 0)); err != nil {
				return err
			}
		}
		return nil
	})
}

// rename needs upload (it makes a new name); renaming over an existing
// file needs delete too. Both names must be on the same asset, as the
// same account.
func (v *vfs) rename(ctx context.Context, from target, r *sftp.Request) error {
	if from.f == nil || v.isFolder(from) {
		return v.allow(ctx, target{vpath: from.vpath}, OpRename)
	}
	to, err := v.resolve(r.Target)
	if err != nil {
		return err
	}
	if v.isFolder(from) || v.isFolder(to) || from.f == nil || to.f == nil {
		return v.allow(ctx, target{vpath: from.vpath}, OpRename)
	}
	if from.f != to.f {
		v.event(ctx, from.f, OpRename, from.rpath+" -> "+to.vpath, 0, ResultFailed, "rename across assets")
		return fmt.Errorf("jms: cannot rename across assets (%s to %s): %w", from.vpath, to.vpath, sftp.ErrSSHFxOpUnsupported)
	}
	op := from.rpath + " -> " + to.rpath
	if err := v.allow(ctx, target{f: from.f, vpath: from.vpath, rpath: op}, OpRename, store.ActionUpload); err != nil {
		return err
	}
	c, err := v.upstream(ctx, from)
	if err != nil {
		return err
	}
	_, serr := c.Lstat(to.rpath)
	over := serr == nil
	if over {
		if err := v.allow(ctx, target{f: from.f, vpath: from.vpath, rpath: op}, OpRename, store.ActionDelete); err != nil {
			return err
		}
	}
	if over || r.Method == "PosixRename" {
		if _, ok := c.HasExtension("posix-rename@openssh.com"); ok {
			err = c.PosixRename(from.rpath, to.rpath)
		} else {
			err = c.Rename(from.rpath, to.rpath)
		}
	} else {
		err = c.Rename(from.rpath, to.rpath)
	}
	if err != nil {
		err = mapError(err)
		v.event(ctx, from.f, OpRename, op, 0, ResultFailed, err.Error())
		return err
	}
	detail := ""
	if over {
		detail = "replaced the existing target"
	}
	v.event(ctx, from.f, OpRename, op, 0, ResultOK, detail)
	return nil
}

// Filelist lists directories and stats files: any file action.
func (v *vfs) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	ctx := v.ctx
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		if t.f == nil {
			return v.rootList(), nil
		}
		if err := v.allow(ctx, t, OpList); err != nil {
			return nil, err
		}
		c, err := v.upstream(ctx, t)
		if err != nil {
			return nil, err
		}
		infos, err := c.ReadDir(t.rpath)
		if err != nil {
			err = mapError(err)
			v.event(ctx, t.f, OpList, t.rpath, 0, ResultFailed, err.Error())
			return nil, err
		}
		v.event(ctx, t.f, OpList, t.rpath, int64(len(infos)), ResultOK, "")
		out := make(listerAt, len(infos))
		for i, fi := range infos {
			out[i] = withIDs(fi)
		}
		return out, nil
	case "Stat", "Lstat":
		return v.stat(ctx, t, r.Method == "Lstat")
	case "Readlink":
		// Served by Readlink; pkg/sftp only lands here without it.
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat stats without following a last symlink.
func (v *vfs) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	t, err := v.resolve(r.Filepath)
	if err != nil {
		return nil, err
	}
	return v.stat(v.ctx, t, true)
}

func (v *vfs) stat(ctx context.Context, t target, lstat bool) (sftp.ListerAt, error) {
	if t.f == nil {
		return listerAt{dirInfo("/", v.started)}, nil
	}
	if v.isFolder(t) {
		return listerAt{dirInfo(t.f.name, v.started)}, nil
	}
	if err := v.allow(ctx, t, OpStat); err != nil {
		return nil, err
	}
	c, err := v.upstream(ctx, t)
	if err != nil {
		return nil, err
	}
	var fi fs.FileInfo
	if lstat {
		fi, err = c.Lstat(t.rpath)
	} else {
		fi, err = c.Stat(t.rpath)
	}
	if err != nil {
		return nil, mapError(err)
	}
	return listerAt{withIDs(fi)}, nil
}

// RealPath makes a path absolute: from the account's home on an asset
// the login named, from the root otherwise. It does not follow links.
func (v *vfs) RealPath(p string) (string, error) {
	if v.direct != nil {
		if !strings.HasPrefix(p, "/") {
			p = path.Join(v.home, p)
		}
		return path.Clean(p), nil
	}
	return cleanAbs(p), nil
}

// Readlink reads a symlink on the asset. In the virtual root an absolute
// target is shown inside the folder it lives in (`/etc/x` on web1 is
// `/web1/etc/x`).
func (v *vfs) Readlink(p string) (string, error) {
	ctx := v.ctx
	t, err := v.resolve(p)
	if err != nil {
		return "", err
	}
	if t.f == nil || v.isFolder(t) {
		return "", &fs.PathError{Op: "readlink", Path: t.vpath, Err: fs.ErrInvalid}
	}
	if err := v.allow(ctx, t, OpStat); err != nil {
		return "", err
	}
	c, err := v.upstream(ctx, t)
	if err != nil {
		return "", err
	}
	dst, err := c.ReadLink(t.rpath)
	if err != nil {
		return "", mapError(err)
	}
	if v.direct == nil && strings.HasPrefix(dst, "/") {
		dst = joinVirtual(t.f.name, dst)
	}
	return dst, nil
}

// rootList lists the folders of the virtual root.
func (v *vfs) rootList() listerAt {
	out := make(listerAt, 0, len(v.order))
	for _, name := range v.order {
		out = append(out, dirInfo(name, v.started))
	}
	return out
}

// listerAt serves a listing from memory.
type listerAt []fs.FileInfo

func (l listerAt) ListAt(dst []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if off+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// virtualDir is a folder of the virtual root.
type virtualDir struct {
	name string
	mod  time.Time
}

func dirInfo(name string, mod time.Time) fs.FileInfo { return virtualDir{name: name, mod: mod} }

func (d virtualDir) Name() string       { return d.name }
func (d virtualDir) Size() int64        { return 0 }
func (d virtualDir) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (d virtualDir) ModTime() time.Time { return d.mod }
func (d virtualDir) IsDir() bool        { return true }
func (d virtualDir) Sys() any           { return nil }

// idInfo passes the asset's owner and group of a file on.
type idInfo struct {
	fs.FileInfo
	uid, gid uint32
}

func (i idInfo) Uid() uint32 { return i.uid }
func (i idInfo) Gid() uint32 { return i.gid }

func withIDs(fi fs.FileInfo) fs.FileInfo {
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		return idInfo{FileInfo: fi, uid: st.UID, gid: st.GID}
	}
	return fi
}

// statusError carries an asset's SFTP status code to the client with a
// message of ours.
type statusError struct {
	msg  string
	code error
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.code }

// mapError turns an error of the asset's SFTP server into one whose
// status code the client sees as the asset sent it.
func mapError(err error) error {
	var se *sftp.StatusError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return err
	case errors.Is(err, fs.ErrNotExist):
		return &fs.PathError{Op: "sftp", Path: "", Err: fs.ErrNotExist}
	case errors.Is(err, fs.ErrPermission):
		return &statusError{msg: "permission denied on the asset", code: sftp.ErrSSHFxPermissionDenied}
	case errors.As(err, &se):
		return &statusError{msg: se.Error(), code: se.FxCode()}
	}
	return &statusError{msg: err.Error(), code: sftp.ErrSSHFxFailure}
}
