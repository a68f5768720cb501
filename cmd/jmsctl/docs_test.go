package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the commands' help")

// TestCLIReference keeps docs/cli.md in step with the commands: it is
// generated from their help, and this test fails when they differ.
// Regenerate with: go test ./cmd/jmsctl -run TestCLIReference -update-docs
func TestCLIReference(t *testing.T) {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard, nil)
	var b bytes.Buffer
	b.WriteString("# jmsctl command reference\n\n")
	b.WriteString("Generated from `jmsctl --help` by `go test ./cmd/jmsctl -run TestCLIReference -update-docs`; do not edit.\n\n")
	b.WriteString("Every listing takes `-o table|wide|json|yaml|csv` and, for tables, `--no-headers`; `--data-dir` (env `JMS_DATA_DIR`, default `./jms-data`) applies to every command, and so do `--org NAME` (env `JMS_ORG`, default `default`) and `--all-orgs`, which choose the organization a command works in (docs/organizations.md).\n")
	b.WriteString("\nA table fits the terminal's width (`COLUMNS` when set, else the terminal's, else 80): the widest cells are cut with `…` and, if that is not enough, the last columns are left out and named below it. When stdout is not a terminal (a pipe, a file) nothing is cut. `-o wide` shows every column and every cell whole. Session ids show as their shortest unique prefix of at least 8 characters (as git and docker show them); every command that takes a session id takes any unique prefix of at least 4. CSV, JSON and YAML always hold whole values.\n")
	writeCommandDoc(&b, newRootCmd(a))
	path := filepath.Join("..", "..", "docs", "cli.md")
	if *updateDocs {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate it with -update-docs)", err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Fatalf("docs/cli.md is out of date with the commands' help: run go test ./cmd/jmsctl -run TestCLIReference -update-docs")
	}
}

func writeCommandDoc(b *bytes.Buffer, c *cobra.Command) {
	if c.Hidden || c.Name() == "completion" || c.Name() == "help" {
		return
	}
	if c.HasParent() {
		fmt.Fprintf(b, "\n## %s\n\n", c.CommandPath())
		b.WriteString(c.Short + "\n")
		if c.Long != "" {
			b.WriteString("\n" + c.Long + "\n")
		}
		if c.Runnable() {
			fmt.Fprintf(b, "\n```\n%s\n```\n", c.UseLine())
		}
		if r, ok := c.Annotations[roleAnnotation]; ok {
			fmt.Fprintf(b, "\nRole: `%s` (see docs/organizations.md).\n", r)
		}
		if c.Example != "" {
			fmt.Fprintf(b, "\nExamples:\n\n```\n%s\n```\n", c.Example)
		}
		if fl := c.LocalNonPersistentFlags().FlagUsages(); fl != "" {
			fmt.Fprintf(b, "\nFlags:\n\n```\n%s```\n", fl)
		}
	}
	for _, sub := range c.Commands() {
		writeCommandDoc(b, sub)
	}
}

// TestEveryCommandHasExample: every command's --help shows an example.
func TestEveryCommandHasExample(t *testing.T) {
	a := newApp(strings.NewReader(""), io.Discard, io.Discard, nil)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "completion" || c.Name() == "help" {
			return
		}
		if c.Example == "" {
			t.Errorf("%s has no example in its help", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(a))
}
