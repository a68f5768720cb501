package store

// The cluster's nodes: every `jmsctl serve` on one database registers
// under its node name, writes a heartbeat every few seconds, and closes
// the sessions of a node whose heartbeat stopped (ReapServers). The
// timing (how often, how late is gone) belongs to the caller: the store
// only compares the times it is given.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"
)

// States of a node.
const (
	ServerServing  = "serving"  // accepting connections
	ServerDraining = "draining" // no longer accepting; its sessions run on
	ServerGone     = "gone"     // stopped, or missed its heartbeats
)

// ErrServerLost is returned by ServerHeartbeat when the node's row is no
// longer its own: another node marked it gone (its heartbeats stopped
// reaching the database for too long) or a later run took the name.
var ErrServerLost = errors.New("this node was marked gone or replaced in the database")

// Server is a node of the cluster as server list shows it.
type Server struct {
	Name         string    `json:"name" yaml:"name"`
	Address      string    `json:"address" yaml:"address"`
	Version      string    `json:"version" yaml:"version"`
	StartedAt    time.Time `json:"started_at" yaml:"started_at"`
	HeartbeatAt  time.Time `json:"heartbeat_at" yaml:"heartbeat_at"`
	LiveSessions int       `json:"live_sessions" yaml:"live_sessions"`
	State        string    `json:"state" yaml:"state"`
	GoneReason   string    `json:"gone_reason,omitempty" yaml:"gone_reason,omitempty"`
}

// ServerRegistration is what a node says of itself when it starts.
type ServerRegistration struct {
	Name     string // its node name
	Instance string // the random id of its data directory
	Address  string // where it listens
	Version  string
}

var serverNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// ValidServerName checks a node name: 1-63 of A-Z a-z 0-9 . _ -,
// starting with a letter or digit (a host name's first label fits).
func ValidServerName(name string) error {
	if !serverNameRE.MatchString(name) {
		return fmt.Errorf("invalid node name %q: want 1-63 of A-Z a-z 0-9 . _ -, starting with a letter or digit", name)
	}
	return nil
}

// RegisterServer records the start of a node and returns the id of
// this run, which its heartbeats must name. A name held by another
// instance whose heartbeat is younger than goneAfter is refused: two
// nodes under one name would close each other's sessions. The same
// instance (the same data directory, whose lock says its previous run is
// over) or a gone one takes the name over; the caller then closes the
// sessions the previous run left (CloseInterruptedSessions).
func (s *Store) RegisterServer(ctx context.Context, reg ServerRegistration, goneAfter time.Duration) (string, error) {
	if err := ValidServerName(reg.Name); err != nil {
		return "", err
	}
	if reg.Instance == "" {
		return "", errors.New("register node: no instance id")
	}
	run := uuid.NewString()
	now := s.now()
	err := s.withTx(ctx, func(q querier) error {
		var instance, state, beat string
		err := wrapError(q.QueryRowContext(ctx, `SELECT instance, state, heartbeat_at FROM servers WHERE name = ?`, reg.Name).
			Scan(&instance, &state, &beat))
		switch {
		case errors.Is(err, ErrNotFound):
			_, err = q.ExecContext(ctx, `INSERT INTO servers (name, instance, run_id, address, version, started_at, heartbeat_at, state)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, reg.Name, reg.Instance, run, reg.Address, reg.Version,
				formatTime(now), formatTime(now), ServerServing)
			if err != nil {
				return nameTaken(err, "node", reg.Name)
			}
			return s.recordOp(ctx, q, "server.start", reg.Name, map[string]any{"address": reg.Address, "version": reg.Version})
		case err != nil:
			return err
		}
		if age := now.Sub(parseTime(beat)); instance != reg.Instance && state != ServerGone && age < goneAfter {
			return conflict(nil, "node name %q is in use by a running node (last heartbeat %s ago): give this node another node_name",
				reg.Name, age.Round(time.Second))
		}
		if err := execOne(ctx, q, "node", reg.Name, `UPDATE servers SET instance = ?, run_id = ?, address = ?, version = ?,
			started_at = ?, heartbeat_at = ?, live_sessions = 0, state = ?, gone_reason = '' WHERE name = ?`,
			reg.Instance, run, reg.Address, reg.Version, formatTime(now), formatTime(now), ServerServing, reg.Name); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "server.start", reg.Name, map[string]any{"address": reg.Address, "version": reg.Version})
	})
	if err != nil {
		return "", fmt.Errorf("register node %s: %w", reg.Name, err)
	}
	return run, nil
}

// ServerHeartbeat records that run of node name is alive, with its live
// sessions and state (ServerServing or ServerDraining). It returns
// ErrServerLost when the row is no longer that run's, or is gone.
func (s *Store) ServerHeartbeat(ctx context.Context, name, run string, live int, state string) error {
	if state != ServerServing && state != ServerDraining {
		return fmt.Errorf("node %s: heartbeat with state %q", name, state)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE servers SET heartbeat_at = ?, live_sessions = ?, state = ?
		WHERE name = ? AND run_id = ? AND state <> ?`, formatTime(s.now()), live, state, name, run, ServerGone)
	if err != nil {
		return wrapError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return wrapError(err)
	} else if n == 0 {
		return fmt.Errorf("node %s: %w", name, ErrServerLost)
	}
	return nil
}

// StopServer marks run of node name gone, stopped cleanly.
func (s *Store) StopServer(ctx context.Context, name, run string) error {
	return s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE servers SET state = ?, gone_reason = ?, heartbeat_at = ?, live_sessions = 0
			WHERE name = ? AND run_id = ? AND state <> ?`, ServerGone, "stopped", formatTime(s.now()), name, run, ServerGone)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return s.recordOp(ctx, q, "server.stop", name, nil)
	})
}

// ReapedServer is a node ReapServers marked gone.
type ReapedServer struct {
	Name     string
	LastBeat time.Time
	Sessions int // its active sessions, closed as interrupted
}

// ReapServers marks gone every node whose last heartbeat is older than
// goneAfter at now, and closes its active sessions as interrupted, each
// node in one transaction that checks its heartbeat again (a node that
// beat meanwhile is left alone). Active sessions of nodes already gone
// (started by a node in the moment it was marked) are closed too. It
// returns the nodes it marked.
func (s *Store) ReapServers(ctx context.Context, now time.Time, goneAfter time.Duration) ([]ReapedServer, error) {
	cutoff := formatTime(now.Add(-goneAfter))
	stale, err := s.staleServers(ctx, cutoff)
	if err != nil {
		return nil, err
	}
	var out []ReapedServer
	for _, r := range stale {
		reason := fmt.Sprintf("missed its heartbeats since %s", r.LastBeat.UTC().Format(time.RFC3339))
		n, marked, err := s.reapServer(ctx, r.Name, cutoff, reason, now)
		if err != nil {
			return out, err
		}
		if marked {
			r.Sessions = n
			out = append(out, r)
		}
	}
	if err := s.closeSessionsOfGone(ctx, now); err != nil {
		return out, err
	}
	return out, nil
}

func (s *Store) staleServers(ctx context.Context, cutoff string) ([]ReapedServer, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, heartbeat_at FROM servers WHERE state <> ? AND heartbeat_at <= ?`,
		ServerGone, cutoff)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []ReapedServer
	for rows.Next() {
		var r ReapedServer
		var beat string
		if err := rows.Scan(&r.Name, &beat); err != nil {
			return nil, wrapError(err)
		}
		r.LastBeat = parseTime(beat)
		out = append(out, r)
	}
	return out, wrapError(rows.Err())
}

// reapServer marks node name gone if its heartbeat is still older than
// cutoff, and closes its sessions, in one transaction.
//
// unscoped: a gone node's sessions are closed whatever their organization.
func (s *Store) reapServer(ctx context.Context, name, cutoff, reason string, now time.Time) (int, bool, error) {
	var closed int64
	marked := false
	err := s.withTx(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `UPDATE servers SET state = ?, gone_reason = ? WHERE name = ? AND state <> ? AND heartbeat_at <= ?`,
			ServerGone, reason, name, ServerGone, cutoff)
		if err != nil {
			return wrapError(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // it beat meanwhile, or another node reaped it
		}
		marked = true
		res, err = q.ExecContext(ctx, `UPDATE sessions SET status = ?, ended_at = ?, end_reason = ? WHERE node = ? AND status = ?`,
			StatusInterrupted, formatTime(now), "bastion node "+name+" "+reason, name, StatusActive)
		if err != nil {
			return wrapError(err)
		}
		closed, _ = res.RowsAffected()
		return s.recordOp(WithActor(ctx, "bastion"), q, "server.gone", name, map[string]any{"reason": reason, "sessions": closed})
	})
	return int(closed), marked, err
}

// closeSessionsOfGone closes the active sessions whose node is gone.
//
// unscoped: a gone node's sessions are closed whatever their organization.
func (s *Store) closeSessionsOfGone(ctx context.Context, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE sessions SET status = ?, ended_at = ?, end_reason = ?
		WHERE status = ? AND node <> '' AND node IN (SELECT name FROM servers WHERE state = ?)`,
		StatusInterrupted, formatTime(now), "its bastion node was gone", StatusActive, ServerGone)
	return wrapError(err)
}

// ListServers returns the nodes by name. A node whose heartbeat is older
// than goneAfter at now shows as gone, whether or not a node marked it.
func (s *Store) ListServers(ctx context.Context, now time.Time, goneAfter time.Duration) ([]Server, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, address, version, started_at, heartbeat_at, live_sessions, state, gone_reason
		FROM servers ORDER BY name`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	out := []Server{}
	for rows.Next() {
		var sv Server
		var started, beat string
		if err := rows.Scan(&sv.Name, &sv.Address, &sv.Version, &started, &beat, &sv.LiveSessions, &sv.State, &sv.GoneReason); err != nil {
			return nil, wrapError(err)
		}
		sv.StartedAt, sv.HeartbeatAt = parseTime(started), parseTime(beat)
		if sv.State != ServerGone && now.Sub(sv.HeartbeatAt) >= goneAfter {
			sv.State, sv.GoneReason = ServerGone, "missed its heartbeats"
		}
		if sv.State == ServerGone {
			sv.LiveSessions = 0
		}
		out = append(out, sv)
	}
	return out, wrapError(rows.Err())
}

// NewInstanceID returns a fresh random id for a data directory.
func NewInstanceID() string { return uuid.NewString() }
