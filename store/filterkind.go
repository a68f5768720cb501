package store

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Filter kinds: a shell filter judges command lines in shell sessions, a
// SQL filter judges statements sent to database assets.
const (
	FilterShell = "shell"
	FilterSQL   = "sql"
)

// checkKind fills the default kind and refuses what the kind does not take.
func (nf *NewFilter) checkKind() error {
	nf.Kind = strings.ToLower(strings.TrimSpace(nf.Kind))
	switch nf.Kind {
	case "":
		nf.Kind = FilterShell
	case FilterShell, FilterSQL:
	default:
		return fmt.Errorf("unknown filter kind %q: want shell or sql", nf.Kind)
	}
	if nf.Kind == FilterShell && len(nf.Statements) > 0 {
		return errors.New("--statement is for SQL filters: add --sql")
	}
	if nf.Kind == FilterSQL && len(nf.Commands) > 0 {
		return errors.New("--command is for shell filters: a SQL filter takes --statement KIND,… or --regex RE")
	}
	kinds, err := cleanStatementKinds(nf.Statements)
	nf.Statements = kinds
	return err
}

// checkSQLMatch checks a SQL filter's match: exactly one of a regex and a
// list of statement kinds.
func checkSQLMatch(re string, kinds []string) error {
	switch {
	case re == "" && len(kinds) == 0:
		return errors.New("give exactly one of --regex RE or --statement KIND,… (e.g. --statement DROP,TRUNCATE)")
	case re != "" && len(kinds) > 0:
		return errors.New("give either --regex or --statement, not both")
	case re != "":
		if _, err := regexp.Compile(re); err != nil {
			return fmt.Errorf("--regex %q is not a valid Go regular expression: %w", re, err)
		}
	}
	return nil
}

// cleanStatementKinds upper-cases statement kinds, makes their spaces
// single, drops repeats and refuses anything but SQL keywords.
func cleanStatementKinds(kinds []string) ([]string, error) {
	out := []string{}
	for _, k := range kinds {
		words := strings.Fields(strings.ToUpper(k))
		if len(words) == 0 {
			return nil, errors.New("--statement has an empty statement kind")
		}
		for _, w := range words {
			if strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != "" {
				return nil, fmt.Errorf("statement kind %q is not a SQL keyword (letters and _ only)", strings.TrimSpace(k))
			}
		}
		if c := strings.Join(words, " "); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, nil
}
