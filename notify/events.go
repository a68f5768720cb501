package notify

import "slices"

// Event names, as webhooks receive them and --events takes them.
const (
	EventTest          = "test"
	EventTicketOpen    = "ticket.open"
	EventTicketDecided = "ticket.decided"
	EventUserLocked    = "user.locked"
	EventNewSource     = "login.new_source"
	EventMFAReset      = "mfa.reset"
	EventSessionKilled = "session.killed"
	EventGrantExpiring = "grant.expiring"
)

var eventNames = []string{EventTest, EventTicketOpen, EventTicketDecided, EventUserLocked, EventNewSource,
	EventMFAReset, EventSessionKilled, EventGrantExpiring}

// EventNames lists every event.
func EventNames() []string { return slices.Clone(eventNames) }

// KnownEvent reports whether name is an event.
func KnownEvent(name string) bool { return slices.Contains(eventNames, name) }
