package database

import (
	"fmt"
	"strings"
)

// The console's helpers (\d, \l, SHOW TABLES and DESCRIBE on either
// engine) are written as SQL the session runs like any statement: judged,
// audited, bounded.

// ListTablesSQL lists the tables and views the session sees.
func ListTablesSQL(e Engine) string {
	if e == PostgreSQL {
		return `SELECT n.nspname AS schema, c.relname AS name,
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
    WHEN 'p' THEN 'partitioned table' WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence' END AS type,
  pg_catalog.pg_get_userbyid(c.relowner) AS owner
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','v','m','p','f','S') AND n.nspname NOT IN ('pg_catalog','information_schema')
  AND n.nspname !~ '^pg_toast' AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1, 2`
	}
	return "SHOW FULL TABLES"
}

// ListDatabasesSQL lists the server's databases.
func ListDatabasesSQL(e Engine) string {
	if e == PostgreSQL {
		return `SELECT d.datname AS name, pg_catalog.pg_get_userbyid(d.datdba) AS owner,
  pg_catalog.pg_encoding_to_char(d.encoding) AS encoding
FROM pg_catalog.pg_database d WHERE NOT d.datistemplate ORDER BY 1`
	}
	return "SHOW DATABASES"
}

// DescribeSQL describes a table's columns; name may be qualified
// (schema.table, db.table) and is quoted here, never pasted as SQL.
func DescribeSQL(e Engine, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, "\x00\n\r") {
		return "", fmt.Errorf("describe needs a table name")
	}
	if e == PostgreSQL {
		return fmt.Sprintf(`SELECT a.attname AS column, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
  CASE WHEN a.attnotnull THEN 'not null' ELSE '' END AS nullable,
  pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default
FROM pg_catalog.pg_attribute a
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum`, pgLiteral(name)), nil
	}
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = "`" + strings.ReplaceAll(strings.Trim(p, "`"), "`", "``") + "`"
	}
	return "SHOW COLUMNS FROM " + strings.Join(parts, "."), nil
}

// pgLiteral quotes s as an escape string, which reads the same whatever
// standard_conforming_strings says.
func pgLiteral(s string) string {
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// Helper recognises the console's shortcuts in a line: \d (tables), \d NAME
// (columns), \l (databases), and on PostgreSQL the MySQL habits SHOW TABLES,
// SHOW DATABASES and DESCRIBE/DESC NAME. It returns the SQL to run, or ok
// false when the line is not a helper.
func Helper(e Engine, line string) (sql string, ok bool, err error) {
	f := strings.Fields(strings.TrimRight(strings.TrimSpace(line), ";"))
	if len(f) == 0 {
		return "", false, nil
	}
	cmd := strings.ToLower(f[0])
	switch {
	case cmd == `\d` && len(f) == 1, cmd == `\dt` && len(f) == 1:
		return ListTablesSQL(e), true, nil
	case cmd == `\d` && len(f) == 2:
		s, err := DescribeSQL(e, f[1])
		return s, true, err
	case cmd == `\l` && len(f) == 1:
		return ListDatabasesSQL(e), true, nil
	case e != PostgreSQL:
		return "", false, nil
	case len(f) == 2 && cmd == "show" && strings.EqualFold(f[1], "tables"):
		return ListTablesSQL(e), true, nil
	case len(f) == 2 && cmd == "show" && strings.EqualFold(f[1], "databases"):
		return ListDatabasesSQL(e), true, nil
	case len(f) == 2 && (cmd == "describe" || cmd == "desc"):
		s, err := DescribeSQL(e, f[1])
		return s, true, err
	}
	return "", false, nil
}
