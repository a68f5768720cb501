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

// The lock file can hold anything (an old jms, a hand edit): the error
// line names a pid only when the file holds one.
func FuzzLockHolder(f *testing.F) {
	for _, s := range []string{"1234\n", "", "-1", "0", "abc", "12 34", "99999999999999999999", "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := lockHolder(b)
		if got == "" {
			return
		}
		if !strings.HasPrefix(got, " (pid ") || !strings.HasSuffix(got, ")") || strings.ContainsAny(got, "\n\r\x00-") {
			t.Fatalf("lockHolder(%q) = %q", b, got)
		}
	})
}
