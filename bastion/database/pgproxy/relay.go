package pgproxy

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
)

// relay carries messages both ways once both sides are logged in.
type relay struct {
	p  *Proxy
	st *started
	tr *tracker

	mu      sync.Mutex
	markers map[string]database.Verdict // marker → the denial it stands for

	cwMu sync.Mutex // the client's writer: server messages and the proxy's notices
}

func newRelay(p *Proxy, st *started) *relay {
	return &relay{p: p, st: st, tr: newTracker(p), markers: map[string]database.Verdict{}}
}

// run relays until one side ends; the other is then closed.
func (r *relay) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- r.clientToServer(ctx) }()
	go func() { errc <- r.serverToClient() }()
	go func() {
		<-ctx.Done()
		r.st.client.Close()
		r.st.server.Close()
	}()
	err := <-errc
	cancel()
	<-errc
	r.tr.flush("the connection ended")
	if closedErr(err) {
		return nil
	}
	return err
}

// clientToServer forwards the client's messages, judging Query and Parse
// and refusing FunctionCall.
func (r *relay) clientToServer(ctx context.Context) error {
	var buf []byte
	for {
		frame, err := readFrame(r.st.cr, buf)
		if err != nil {
			return err
		}
		buf = frame
		out, err := r.fromClient(ctx, frame)
		if err != nil {
			return err
		}
		if _, err := r.st.sw.Write(out); err != nil {
			return err
		}
		if frame[0] == 'X' {
			return r.st.sw.Flush()
		}
		if r.st.cr.Buffered() == 0 {
			if err := r.st.sw.Flush(); err != nil {
				return err
			}
		}
	}
}

// fromClient returns what to send the server for one client message: the
// message itself, or a marker statement in place of a denied one.
func (r *relay) fromClient(ctx context.Context, frame []byte) ([]byte, error) {
	switch frame[0] {
	case 'Q':
		var q pgproto3.Query
		if err := q.Decode(frame[5:]); err != nil {
			return nil, fmt.Errorf("the client's Query message: %w", err)
		}
		v, ok := r.judge(ctx, q.String)
		if !ok {
			return r.marker(v, false, "")
		}
		r.tr.query(q.String, v)
		if err := r.warn(v); err != nil {
			return nil, err
		}
	case 'P':
		var m pgproto3.Parse
		if err := m.Decode(frame[5:]); err != nil {
			return nil, fmt.Errorf("the client's Parse message: %w", err)
		}
		v, ok := r.judge(ctx, m.Query)
		if !ok {
			return r.marker(v, true, m.Name)
		}
		r.tr.parse(m.Name, m.Query, v)
		if err := r.warn(v); err != nil {
			return nil, err
		}
	case 'B':
		var m pgproto3.Bind
		if err := m.Decode(frame[5:]); err == nil {
			r.tr.bind(m.DestinationPortal, m.PreparedStatement)
		}
	case 'E':
		var m pgproto3.Execute
		if err := m.Decode(frame[5:]); err == nil {
			r.tr.execute(m.Portal)
		}
	case 'F':
		v := database.Verdict{Action: filter.Deny, Message: "jms: fast-path function calls are not allowed through the bastion"}
		r.tr.denied("(fast-path function call)", v)
		return r.marker(v, false, "")
	}
	return frame, nil
}

// judge judges an input; false when it must not run (audited then).
func (r *relay) judge(ctx context.Context, input string) (database.Verdict, bool) {
	v, _ := database.JudgeInput(ctx, r.p.Judge, sqlsplit.PostgreSQL, input)
	if !v.Runs() {
		r.tr.denied(input, v)
		return v, false
	}
	return v, true
}

// marker is a statement that fails at once with a syntax error naming a
// fresh marker; serverToClient swaps that error for the denial. As a Query
// (FunctionCall too) it ends with ReadyForQuery as the client expects; as a
// Parse the server skips to the client's Sync, as after any error.
func (r *relay) marker(v database.Verdict, parse bool, name string) ([]byte, error) {
	m, err := nonce()
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.markers[m] = v
	r.mu.Unlock()
	if parse {
		return (&pgproto3.Parse{Name: name, Query: m}).Encode(nil)
	}
	return (&pgproto3.Query{String: m}).Encode(nil)
}

// serverToClient forwards the server's messages, noting results for the
// audit and turning marker errors into denials.
func (r *relay) serverToClient() error {
	var buf []byte
	for {
		frame, err := readFrame(r.st.sr, buf)
		if err != nil {
			return err
		}
		buf = frame
		out := r.fromServer(frame)
		if err := r.toClient(out, r.st.sr.Buffered() == 0); err != nil {
			return err
		}
	}
}

// toClient writes to the client, flushing when asked.
func (r *relay) toClient(b []byte, flush bool) error {
	r.cwMu.Lock()
	defer r.cwMu.Unlock()
	if _, err := r.st.cw.Write(b); err != nil {
		return err
	}
	if flush {
		return r.st.cw.Flush()
	}
	return nil
}

// warn tells the client that a statement ran under a warn filter: a
// NoticeResponse, which a client shows whenever it arrives.
func (r *relay) warn(v database.Verdict) error {
	if v.Action != filter.Warn || v.Message == "" {
		return nil
	}
	b, err := (&pgproto3.NoticeResponse{Severity: "WARNING", SeverityUnlocalized: "WARNING", Code: "01000",
		Message: "jms: " + v.Message}).Encode(nil)
	if err != nil {
		return err
	}
	return r.toClient(b, true)
}

func (r *relay) fromServer(frame []byte) []byte {
	switch frame[0] {
	case 'D':
		r.tr.row()
	case 'C':
		var m pgproto3.CommandComplete
		if m.Decode(frame[5:]) == nil {
			r.tr.complete(string(m.CommandTag), "")
		}
	case 'I', 's':
		r.tr.complete("", "")
	case 'Z':
		r.tr.flush("not run: an earlier statement failed")
	case 'E':
		var m pgproto3.ErrorResponse
		if m.Decode(frame[5:]) != nil {
			return frame
		}
		if out, ok := r.denial(&m); ok {
			return out
		}
		r.tr.complete("", errorText(&m))
	}
	return frame
}

// denial rewrites a marker's syntax error into the denial it stands for.
func (r *relay) denial(m *pgproto3.ErrorResponse) ([]byte, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for mk, v := range r.markers {
		if strings.Contains(m.Message, mk) {
			delete(r.markers, mk)
			msg := v.Message
			if msg == "" {
				msg = "statement denied"
			}
			out, err := (&pgproto3.ErrorResponse{
				Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "42501",
				Message: "jms: " + strings.TrimPrefix(msg, "jms: "),
			}).Encode(nil)
			return out, err == nil
		}
	}
	return nil, false
}

func errorText(m *pgproto3.ErrorResponse) string {
	return fmt.Sprintf("%s:  %s", m.Severity, m.Message)
}
