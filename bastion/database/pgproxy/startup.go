package pgproxy

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jms-bastion/jms/bastion/database"
)

// Startup-phase request codes.
const (
	sslRequestCode    = 80877103
	gssEncRequestCode = 80877104
	cancelRequestCode = 80877102
)

// forwardedParams are the client's startup parameters passed on to the
// server; the rest (user, database, replication, options …) are the
// bastion's to decide.
var forwardedParams = []string{
	"application_name", "client_encoding", "DateStyle", "TimeZone",
	"IntervalStyle", "extra_float_digits", "search_path",
}

// tlsNotice tells a client that asked for TLS why it did not get it.
const tlsNotice = "jms: the bastion does not offer TLS on forwarded database connections: " +
	"the SSH tunnel (ssh -L) already encrypts them. Connect with sslmode=disable (or prefer); " +
	"TLS between the bastion and the database follows the asset's settings."

// started is a client and a server both past their startup.
type started struct {
	client net.Conn
	cr     *bufio.Reader
	cw     *bufio.Writer
	server net.Conn
	sr     *bufio.Reader
	sw     *bufio.Writer
	user   string // the name the client gave
}

// startup answers the client's startup packets, logs in to the server and
// introduces one to the other. It returns nil, nil for a cancel request
// (forwarded, and the connection done).
func (p *Proxy) startup(ctx context.Context, client net.Conn) (*started, error) {
	st := &started{client: client, cr: bufio.NewReaderSize(client, 32<<10), cw: bufio.NewWriterSize(client, 32<<10)}
	sm, tlsAsked, err := p.readStartupMessage(ctx, st)
	if err != nil || sm == nil {
		return nil, err
	}
	st.user = sm.Parameters["user"]
	if err := p.authenticate(ctx, st); err != nil {
		return nil, err
	}
	params := map[string]string{}
	for _, k := range forwardedParams {
		if v, ok := sm.Parameters[k]; ok {
			params[k] = v
		}
	}
	conn, err := database.DialPostgres(ctx, p.Target, clientDatabase(sm.Parameters), params)
	if err != nil {
		p.fatal(st, "08006", "jms: the bastion could not log in to the database: "+err.Error())
		return nil, err
	}
	if err := conn.SyncConn(ctx); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("taking over the database connection: %w", err)
	}
	hc, err := conn.Hijack()
	if err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("taking over the database connection: %w", err)
	}
	st.server, st.sr, st.sw = hc.Conn, bufio.NewReaderSize(hc.Conn, 32<<10), bufio.NewWriterSize(hc.Conn, 32<<10)
	msgs := []pgproto3.BackendMessage{&pgproto3.AuthenticationOk{}}
	for k, v := range hc.ParameterStatuses {
		msgs = append(msgs, &pgproto3.ParameterStatus{Name: k, Value: v})
	}
	msgs = append(msgs, &pgproto3.BackendKeyData{ProcessID: hc.PID, SecretKey: hc.SecretKey})
	if tlsAsked {
		msgs = append(msgs, &pgproto3.NoticeResponse{Severity: "NOTICE", Code: "01000", Message: tlsNotice})
	}
	msgs = append(msgs, &pgproto3.ReadyForQuery{TxStatus: hc.TxStatus})
	if err := send(st.cw, msgs...); err != nil {
		hc.Conn.Close()
		return nil, err
	}
	return st, nil
}

// readStartupMessage reads packets until the StartupMessage, answering
// SSLRequest and GSSENCRequest with N. It reports whether TLS was asked.
func (p *Proxy) readStartupMessage(ctx context.Context, st *started) (*pgproto3.StartupMessage, bool, error) {
	tlsAsked := false
	for range 3 {
		body, err := readStartup(st.cr)
		if err != nil {
			return nil, false, fmt.Errorf("reading the client's startup: %w", err)
		}
		switch code := binary.BigEndian.Uint32(body); code {
		case sslRequestCode, gssEncRequestCode:
			tlsAsked = tlsAsked || code == sslRequestCode
			if _, err := st.client.Write([]byte{'N'}); err != nil {
				return nil, false, err
			}
			continue
		case cancelRequestCode:
			p.forwardCancel(ctx, body)
			return nil, false, nil
		}
		sm := &pgproto3.StartupMessage{}
		if err := sm.Decode(body); err != nil {
			p.fatal(st, "08P01", "jms: unsupported startup packet: "+err.Error())
			return nil, false, fmt.Errorf("the client's startup packet: %w", err)
		}
		if sm.Parameters["replication"] != "" && sm.Parameters["replication"] != "false" {
			p.fatal(st, "42501", "jms: replication connections are not allowed through the bastion")
			return nil, false, errors.New("the client asked for a replication connection")
		}
		return sm, tlsAsked, nil
	}
	return nil, false, errors.New("the client sent too many startup requests")
}

// authenticate asks the client for a password when a ClientAuth hook
// wants one.
func (p *Proxy) authenticate(ctx context.Context, st *started) error {
	if p.ClientAuth == nil {
		return nil
	}
	if err := send(st.cw, &pgproto3.AuthenticationCleartextPassword{}); err != nil {
		return err
	}
	frame, err := readFrame(st.cr, nil)
	if err != nil {
		return fmt.Errorf("reading the client's password: %w", err)
	}
	var pm pgproto3.PasswordMessage
	if frame[0] != 'p' || pm.Decode(frame[5:]) != nil {
		p.fatal(st, "08P01", "jms: expected a password message")
		return errors.New("the client sent no password message")
	}
	if err := p.ClientAuth(ctx, st.user, pm.Password); err != nil {
		p.fatal(st, "28P01", "jms: password authentication failed for user \""+st.user+"\"")
		return fmt.Errorf("client authentication: %w", err)
	}
	return nil
}

// fatal sends the client a FATAL error (best effort: the connection ends).
func (p *Proxy) fatal(st *started, code, msg string) {
	_ = send(st.cw, &pgproto3.ErrorResponse{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: code, Message: msg})
}

// forwardCancel passes a CancelRequest on to the server: the key the
// client holds is the server's own.
func (p *Proxy) forwardCancel(ctx context.Context, body []byte) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.Target.HostPort())
	if err != nil {
		p.Logger.Warn("forwarding a cancel request", "target", p.Target, "err", err)
		return
	}
	defer c.Close()
	pkt := binary.BigEndian.AppendUint32(nil, uint32(4+len(body)))
	_, _ = c.Write(append(pkt, body...))
}

// send encodes messages and flushes them.
func send(w *bufio.Writer, msgs ...pgproto3.BackendMessage) error {
	var buf []byte
	for _, m := range msgs {
		var err error
		if buf, err = m.Encode(buf[:0]); err != nil {
			return fmt.Errorf("encoding %T: %w", m, err)
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return w.Flush()
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "connection reset")
}

// clientDatabase is the database the client asked for, or "" for the
// target's: libpq sends the user name when no database is given, and the
// client's user name is a bastion user's, so that one means none.
func clientDatabase(params map[string]string) string {
	if db := params["database"]; db != params["user"] {
		return db
	}
	return ""
}
