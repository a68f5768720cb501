package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// versionInfo is what `jmsctl version` reports.
type versionInfo struct {
	Version string `json:"version" yaml:"version"`
	Go      string `json:"go" yaml:"go"`
	OS      string `json:"os" yaml:"os"`
	Arch    string `json:"arch" yaml:"arch"`
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of jmsctl",
		Long:  `Print the version of jmsctl (the same as jmsctl --version), the Go release it was built with and the platform.`,
		Example: `  jmsctl version
  jmsctl version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionInfo{Version: version, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
			if a.output != "json" && a.output != "yaml" {
				_, err := fmt.Fprintf(a.stdout, "jmsctl %s (%s %s/%s)\n", v.Version, v.Go, v.OS, v.Arch)
				return err
			}
			return encode(a.stdout, a.output, v)
		},
	}
}
