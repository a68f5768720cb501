//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// lockFileName is the file in the data directory that `serve` holds an
// exclusive flock on for as long as it runs.
const lockFileName = "serve.lock"

// dataDirLock is a held lock on a data directory.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the exclusive lock of dataDir without waiting: one
// `jmsctl serve` per data directory, so that only the process that holds
// it closes sessions left active as interrupted. The kernel drops the
// lock when the process dies, however it dies. The holder's pid is
// written into the file for the error a second server prints.
func lockDataDir(dataDir string) (*dataDirLock, error) {
	path := filepath.Join(dataDir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock the data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readLockHolder(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another jmsctl serve%s is running on %s (it holds %s): stop it first, or give this one its own --data-dir",
				holder, dataDir, path)
		}
		return nil, fmt.Errorf("lock the data directory %s: %w", dataDir, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// readLockHolder returns " (pid N)" from the lock file, "" when it holds
// no pid.
func readLockHolder(f *os.File) string {
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	return lockHolder(b[:n])
}

// lockHolder parses the content of a lock file: " (pid N)" for a
// positive pid alone on its line, "" for anything else.
func lockHolder(b []byte) string {
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	if err != nil || pid <= 0 {
		return ""
	}
	return fmt.Sprintf(" (pid %d)", pid)
}

// release drops the lock. The file stays: removing it would let a third
// server lock a new file while a second still waits on the old one.
func (l *dataDirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
