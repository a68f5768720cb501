// Package dbwire joins database assets to the store: it builds the
// [database.Target] of an asset and account (the stored, sealed password,
// the asset's database and TLS settings), the [database.Judge] of a
// session from the SQL filters of the asset's organization, and the
// [database.Auditor] that writes each statement to the command audit.
// The SSH server's console, one-shot statements and forwards (coming)
// and `jmsctl asset test` use it; bastion/database itself needs nothing
// from the store.
package dbwire
