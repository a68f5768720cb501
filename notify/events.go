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
	// Recording uploads to the object store started failing, or the
	// oldest recording in a node's spool waited too long.
	EventUploadFailing = "recording.upload_failing"
	EventUploadBehind  = "recording.upload_behind"
	// An account push or rotation failed on an asset.
	EventPushFailed   = "account.push_failed"
	EventRotateFailed = "account.rotate_failed"
	// A bastion node stopped sending heartbeats and was marked gone.
	EventNodeGone = "node.gone"
)

var eventNames = []string{EventTest, EventTicketOpen, EventTicketDecided, EventUserLocked, EventNewSource,
	EventMFAReset, EventSessionKilled, EventGrantExpiring, EventUploadFailing, EventUploadBehind, EventPushFailed,
	EventRotateFailed, EventNodeGone}

// EventNames lists every event.
func EventNames() []string { return slices.Clone(eventNames) }

// KnownEvent reports whether name is an event.
func KnownEvent(name string) bool { return slices.Contains(eventNames, name) }
