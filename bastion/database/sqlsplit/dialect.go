// Package sqlsplit splits SQL text into statements and classifies each, for
// MySQL/MariaDB and PostgreSQL, without a server: a lexical scanner per
// dialect that knows where comments, string literals and quoted identifiers
// begin and end, so that a ; or a keyword inside one is never taken for a
// separator or a statement kind.
//
// It is what the bastion's statement filters judge: one input (a console
// line, a COM_QUERY packet, a PostgreSQL Query message) may hold several
// statements, and each is judged on its own.
package sqlsplit

import (
	"fmt"
	"strings"
)

// Dialect is the SQL dialect whose lexical rules apply.
type Dialect int

// The dialects. MySQL covers MariaDB.
const (
	MySQL Dialect = iota + 1
	PostgreSQL
)

// String returns the dialect's name as the asset platform spells it.
func (d Dialect) String() string {
	switch d {
	case MySQL:
		return "mysql"
	case PostgreSQL:
		return "postgresql"
	}
	return fmt.Sprintf("dialect(%d)", int(d))
}

// ParseDialect reads a dialect name: mysql (or mariadb), postgresql (or
// postgres, pg).
func ParseDialect(s string) (Dialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "mysql", "mariadb":
		return MySQL, nil
	case "postgresql", "postgres", "pg":
		return PostgreSQL, nil
	}
	return 0, fmt.Errorf("unknown SQL dialect %q (want mysql or postgresql)", s)
}
