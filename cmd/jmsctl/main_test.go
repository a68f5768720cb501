package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"jmsctl": func() { os.Exit(run()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. Each starts with
// JMS_DATA_DIR=$WORK/data; most begin with an `exec jmsctl init`.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			env.Setenv("JMS_DATA_DIR", filepath.Join(env.WorkDir, "data"))
			return nil
		},
	})
}
