package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// healthOps counts the operations that say uploads fail or fall behind.
func healthOps(t *testing.T, fx *fixture) (failing, behind int) {
	t.Helper()
	ops, err := fx.st.ListOperations(fx.ctx, store.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		switch op.Action {
		case opUploadFailing:
			failing++
			if op.Actor != "bastion" || !strings.Contains(op.Detail, "cannot be reached") || !strings.Contains(op.Detail, "mem://") {
				t.Errorf("failing operation %+v", op)
			}
		case opUploadBehind:
			behind++
		}
	}
	return failing, behind
}

func TestUploadHealthIsRecordedOncePerChange(t *testing.T) {
	fx := newFixture(t, true)
	fx.session(t, "0a0a0a0a-0000-4000-8000-000000000011", cast)
	fx.obj.failPuts = 3
	for range 3 { // three failures in a row: told once
		fx.step(t)
		fx.advance(10 * time.Second)
	}
	if f, b := healthOps(t, fx); f != 1 || b != 0 {
		t.Fatalf("after three failures: %d failing, %d behind operations, want 1, 0", f, b)
	}
	fx.step(t) // it works
	fx.session(t, "0a0a0a0a-0000-4000-8000-000000000012", cast)
	fx.obj.failPuts = 1
	fx.step(t) // and fails again: a new run of failures
	if f, _ := healthOps(t, fx); f != 2 {
		t.Fatalf("a failure after a success: %d failing operations, want 2", f)
	}

	// The second file waits: behind once, however often it is looked at,
	// until the spool catches up.
	fx.advance(16 * time.Minute)
	for range 3 {
		fx.s.warnIfBehind(fx.ctx)
		fx.advance(20 * time.Minute)
	}
	if _, b := healthOps(t, fx); b != 1 {
		t.Fatalf("behind operations %d, want 1", b)
	}
	fx.step(t)
	fx.s.warnIfBehind(fx.ctx) // caught up
	fx.session(t, "0a0a0a0a-0000-4000-8000-000000000013", cast)
	fx.obj.failPuts = 100
	fx.step(t)
	fx.advance(16 * time.Minute)
	fx.s.warnIfBehind(fx.ctx)
	if f, b := healthOps(t, fx); f != 3 || b != 2 {
		t.Fatalf("after catching up and falling behind again: %d failing, %d behind, want 3, 2", f, b)
	}
}
