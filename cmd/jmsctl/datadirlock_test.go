//go:build unix

package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func TestLockDataDir(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockDataDir(dir)
	if err == nil {
		t.Fatal("a second lock on the same data directory succeeded")
	}
	want := fmt.Sprintf("another jmsctl serve (pid %d) is running on %s", os.Getpid(), dir)
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second lock: %q, want one line with %q", err, want)
	}
	if err := first.release(); err != nil {
		t.Fatal(err)
	}
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	again.release()
	fi, err := os.Stat(dir + "/" + lockFileName)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
}
