// Package notify tells people what jms did: mail through the SMTP server
// of the mail settings, JSON posts to webhooks, from templates in English
// and Simplified Chinese that the data directory can override. Nothing is
// sent inline: every message is a row of the store's outbox first, and a
// Worker run by serve delivers it with retries and backoff, so that a
// slow or down mail server never holds up a login or a session.
package notify
