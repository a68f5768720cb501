// Package database lets the bastion reach MySQL/MariaDB and PostgreSQL
// assets: it logs in with a stored account ([Target]), runs statements one
// by one after a [Judge] has allowed each ([Session]), keeps results bounded
// and formats them for a terminal ([Format]), and reports every statement to
// an [Auditor]. Its sub-packages split SQL into statements (sqlsplit), give
// a person a console (console) and speak the databases' wire protocols to
// forwarded native clients (pgproxy, mysqlproxy).
//
// The package needs nothing from the store: the bastion hands it a Target
// built from an asset and its account, a Judge built from the statement
// filters (and the review tickets), and an Auditor writing the command
// audit.
package database
