package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestInventoryHelpHasExamples: every inventory command's --help shows an example.
func TestInventoryHelpHasExamples(t *testing.T) {
	root := newRootCmd(newApp(strings.NewReader(""), io.Discard, io.Discard, nil))
	stubs := map[string]bool{"jmsctl asset who-can": true, "jmsctl asset test": true} // owned by other files
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !stubs[c.CommandPath()] && c.Example == "" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			if sub.Name() != "help" && sub.Name() != "completion" {
				walk(sub)
			}
		}
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "group", "asset", "node", "account", "secret":
			walk(c)
		case "user":
			for _, sub := range c.Commands() {
				if sub.Name() == "import" || sub.Name() == "export" {
					walk(sub)
				}
			}
		}
	}
}
