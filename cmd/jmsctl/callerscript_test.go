package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/jms-bastion/jms/store"
)

func init() {
	// jmsctl-as USER ARGS…: run jmsctl in-process as USER would over SSH
	// (app.caller set, her system role from the store); stdin is empty.
	scriptCmds["jmsctl-as"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 1 {
			ts.Fatalf("usage: jmsctl-as USER ARGS...")
		}
		dir := ts.Getenv("JMS_DATA_DIR")
		role := callerRole(ts, dir, args[0])
		var out, errb bytes.Buffer
		a := newApp(strings.NewReader(ts.Getenv("STDIN")), &out, &errb, []string{"JMS_DATA_DIR=" + dir})
		a.caller = &caller{user: args[0], role: role, source: "127.0.0.1:2222"}
		root := newRootCmd(a)
		root.SetArgs(args[1:])
		err := root.ExecuteContext(context.Background())
		ts.Stdout().Write(out.Bytes())
		ts.Stderr().Write(errb.Bytes())
		if err != nil {
			ts.Stderr().Write([]byte("Error: " + oneLine(err) + "\n"))
		}
		if neg != (err != nil) {
			ts.Fatalf("jmsctl-as %s: unexpected result (err: %v)", args[0], err)
		}
	}
}

func callerRole(ts *testscript.TestScript, dir, user string) string {
	sealer, err := store.LoadSealer(dir, "")
	ts.Check(err)
	st, err := store.Open(context.Background(), filepath.Join(dir, "jms.db"), store.Options{Sealer: sealer})
	ts.Check(err)
	defer st.Close()
	u, err := st.GetUser(context.Background(), user)
	ts.Check(err)
	return u.Role
}
