package main

import "strings"

func joinComma(s []string) string { return strings.Join(s, ",") }

// splitLines splits text into lines without their endings.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}
