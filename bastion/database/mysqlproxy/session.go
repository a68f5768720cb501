package mysqlproxy

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
)

// Commands.
const (
	comQuit             = 0x01
	comInitDB           = 0x02
	comQuery            = 0x03
	comFieldList        = 0x04
	comStatistics       = 0x09
	comPing             = 0x0e
	comStmtPrepare      = 0x16
	comStmtExecute      = 0x17
	comStmtSendLongData = 0x18
	comStmtClose        = 0x19
	comStmtReset        = 0x1a
	comSetOption        = 0x1b
	comStmtFetch        = 0x1c
	comResetConnection  = 0x1f
)

// maxPrepared bounds the prepared statements remembered per connection.
const maxPrepared = 10000

// session relays commands for one logged-in client.
type session struct {
	p     *Proxy
	cc    *conn
	s     *server
	caps  uint32
	stmts map[uint32]prepared
	// lastEOF is the payload of the EOF packet relayRows stopped at.
	lastEOF []byte
}

// prepared is a statement the server prepared, as it was judged.
type prepared struct {
	text string
	v    database.Verdict
}

func newSession(p *Proxy, cc *conn, s *server, caps uint32) *session {
	return &session{p: p, cc: cc, s: s, caps: caps, stmts: map[uint32]prepared{}}
}

func (ss *session) run(ctx context.Context) error {
	for {
		pk, err := ss.cc.readPacket()
		if err != nil {
			return err
		}
		if len(pk.payload) == 0 {
			return errors.New("the client sent an empty command")
		}
		if pk.payload[0] == comQuit {
			_ = ss.s.c.forward(pk)
			return ss.s.c.flush()
		}
		if err := ss.command(ctx, pk); err != nil {
			return err
		}
		if err := ss.cc.flush(); err != nil {
			return err
		}
	}
}

// command judges, forwards and relays the response of one command.
func (ss *session) command(ctx context.Context, pk packet) error {
	switch cmd := pk.payload[0]; cmd {
	case comQuery, comStmtPrepare:
		return ss.statement(ctx, pk)
	case comStmtExecute:
		return ss.execute(pk)
	case comStmtClose, comStmtSendLongData:
		if cmd == comStmtClose && len(pk.payload) >= 5 {
			delete(ss.stmts, binary.LittleEndian.Uint32(pk.payload[1:5]))
		}
		return ss.send(pk) // no response
	case comInitDB, comPing, comStmtReset, comSetOption, comResetConnection, comStatistics:
		if cmd == comResetConnection {
			clear(ss.stmts)
		}
		if err := ss.send(pk); err != nil {
			return err
		}
		return ss.relayOne()
	case comFieldList, comStmtFetch:
		if err := ss.send(pk); err != nil {
			return err
		}
		_, err := ss.relayRows()
		if isServerErr(err) {
			return nil // the client has the ERR packet
		}
		return err
	default:
		return ss.deny(pk.seq, fmt.Sprintf("jms: the MySQL command 0x%02x is not allowed through the bastion", cmd))
	}
}

// statement judges a COM_QUERY or COM_STMT_PREPARE: denied, it is answered
// with an ERR packet and never sent.
func (ss *session) statement(ctx context.Context, pk packet) error {
	text := string(pk.payload[1:])
	v, _ := database.JudgeInput(ctx, ss.p.Judge, sqlsplit.MySQL, text)
	if !v.Runs() {
		ss.audit(ss.record(text, v), false)
		return ss.deny(pk.seq, v.Message)
	}
	if err := ss.send(pk); err != nil {
		return err
	}
	if pk.payload[0] == comStmtPrepare {
		return ss.relayPrepare(text, v)
	}
	var recs []*database.StatementRecord
	for _, st := range sqlsplit.Split(sqlsplit.MySQL, text) {
		recs = append(recs, ss.record(st.Text, v))
	}
	return ss.relayResults(recs, false)
}

// execute runs a prepared statement (judged when it was prepared).
func (ss *session) execute(pk packet) error {
	var recs []*database.StatementRecord
	if len(pk.payload) >= 5 {
		if st, ok := ss.stmts[binary.LittleEndian.Uint32(pk.payload[1:5])]; ok {
			recs = append(recs, ss.record(st.text, st.v))
		}
	}
	if err := ss.send(pk); err != nil {
		return err
	}
	return ss.relayResults(recs, true)
}

// deny answers a command with an ERR packet; nothing reaches the server.
func (ss *session) deny(seq byte, msg string) error {
	if msg == "" {
		msg = "statement denied"
	}
	if len(msg) < 5 || msg[:5] != "jms: " {
		msg = "jms: " + msg
	}
	_, err := ss.cc.writePacket(seq+1, errPacket(1227, "42000", msg))
	return err
}

// send forwards a client packet to the server and flushes.
func (ss *session) send(pk packet) error {
	if err := ss.s.c.forward(pk); err != nil {
		return err
	}
	return ss.s.c.flush()
}

// next reads a server packet and forwards it to the client.
func (ss *session) next() (packet, error) {
	pk, err := ss.s.c.readPacket()
	if err != nil {
		return pk, err
	}
	if len(pk.payload) == 0 {
		return pk, errors.New("the server sent an empty packet")
	}
	return pk, ss.cc.forward(pk)
}

func (ss *session) relayOne() error {
	_, err := ss.next()
	return err
}

// isEOF reports whether a payload is an EOF packet (the proxy never lets
// CLIENT_DEPRECATE_EOF be agreed, so EOF packets end column lists and rows).
func isEOF(b []byte) bool { return len(b) > 0 && b[0] == 0xfe && len(b) < 9 }

// relayRows relays rows (or column definitions) up to their EOF or an ERR;
// it returns the count and the ERR text, if any.
func (ss *session) relayRows() (int64, error) {
	var n int64
	for {
		pk, err := ss.next()
		if err != nil {
			return n, err
		}
		switch {
		case isEOF(pk.payload):
			ss.lastEOF = append(ss.lastEOF[:0], pk.payload...)
			return n, nil
		case pk.payload[0] == 0xff:
			return n, errServer(errPacketText(pk.payload))
		}
		n++
	}
}

// errServer is an ERR packet's text, for the audit: the client has the
// packet itself.
type errServer string

func (e errServer) Error() string { return string(e) }

// relayPrepare relays COM_STMT_PREPARE's response and remembers the
// statement for the audit of its executions.
func (ss *session) relayPrepare(text string, v database.Verdict) error {
	pk, err := ss.next()
	if err != nil || pk.payload[0] != 0x00 || len(pk.payload) < 9 {
		return err
	}
	id := binary.LittleEndian.Uint32(pk.payload[1:5])
	cols := binary.LittleEndian.Uint16(pk.payload[5:7])
	params := binary.LittleEndian.Uint16(pk.payload[7:9])
	for _, n := range []uint16{params, cols} {
		if n == 0 {
			continue
		}
		if _, err := ss.relayRows(); err != nil && !isServerErr(err) {
			return err
		}
	}
	if len(ss.stmts) < maxPrepared {
		ss.stmts[id] = prepared{text: text, v: v}
	}
	return nil
}

func isServerErr(err error) bool {
	var e errServer
	return errors.As(err, &e)
}

// relayResults relays the response to a query or an execution: an OK, an
// ERR, or result sets (columns, EOF, rows, EOF), as many as the server's
// more-results flag says. recs are the statements, in order, each
// completed by its result.
func (ss *session) relayResults(recs []*database.StatementRecord, binaryRows bool) error {
	defer func() {
		for _, r := range recs {
			r.Ran, r.Error = false, "not run: an earlier statement failed"
			ss.audit(r, false)
		}
	}()
	for {
		pk, err := ss.next()
		if err != nil {
			return err
		}
		var rec *database.StatementRecord
		if len(recs) > 0 {
			rec, recs = recs[0], recs[1:]
		}
		more, err := ss.oneResult(pk, rec, binaryRows)
		if err != nil || !more {
			return err
		}
	}
}

// oneResult relays one result whose first packet is pk; it reports
// whether another follows.
func (ss *session) oneResult(pk packet, rec *database.StatementRecord, binaryRows bool) (bool, error) {
	switch pk.payload[0] {
	case 0x00:
		ss.done(rec, okAffected(pk.payload), "")
		return okStatus(pk.payload)&serverStatusMoreRes != 0, nil
	case 0xff:
		ss.done(rec, 0, errPacketText(pk.payload))
		return false, nil
	case 0xfb:
		return false, errors.New("the server asked for a LOCAL INFILE, which the proxy never agreed to")
	}
	if _, err := ss.relayRows(); err != nil { // column definitions
		if isServerErr(err) {
			ss.done(rec, 0, err.Error())
			return false, nil
		}
		return false, err
	}
	eof := ss.lastEOF
	if binaryRows && okStatus(eof)&serverStatusCursor != 0 {
		ss.done(rec, 0, "")
		return false, nil // rows come with COM_STMT_FETCH
	}
	n, err := ss.relayRows()
	if isServerErr(err) {
		ss.done(rec, n, err.Error())
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ss.done(rec, n, "")
	return okStatus(ss.lastEOF)&serverStatusMoreRes != 0, nil
}

func (ss *session) record(text string, v database.Verdict) *database.StatementRecord {
	rec := &database.StatementRecord{Source: "mysql-proxy", Text: text, Verdict: v, Ran: true, Started: ss.p.Now()}
	if sts := sqlsplit.Split(sqlsplit.MySQL, text); len(sts) > 0 {
		rec.Kind = sts[0].Kind
	}
	if !v.Runs() {
		rec.Ran = false
	}
	return rec
}

func (ss *session) done(rec *database.StatementRecord, rows int64, errText string) {
	if rec == nil {
		return
	}
	rec.Rows, rec.Error = rows, errText
	ss.audit(rec, true)
}

func (ss *session) audit(rec *database.StatementRecord, ran bool) {
	rec.Ran = ran
	rec.Duration = ss.p.Now().Sub(rec.Started)
	ss.p.Audit.Statement(context.Background(), *rec)
}
