package pgproxy

import (
	"bufio"
	"bytes"
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/database/sqlsplit"
	"github.com/jms-bastion/jms/bastion/filter"
)

func encoded(msgs ...interface{ Encode([]byte) ([]byte, error) }) []byte {
	var out []byte
	for _, m := range msgs {
		out, _ = m.Encode(out)
	}
	return out
}

// FuzzMessages feeds arbitrary bytes to the frame readers and to the
// inspection of every frame they return, both directions: nothing may
// panic, a frame is never longer than its length says, and a denied Query
// or Parse never goes out as it came in.
func FuzzMessages(f *testing.F) {
	f.Add(encoded(&pgproto3.Query{String: "SELECT 1; DROP TABLE t"}))
	f.Add(encoded(&pgproto3.Parse{Name: "s", Query: "DROP TABLE t"}, &pgproto3.Bind{PreparedStatement: "s"}, &pgproto3.Execute{}, &pgproto3.Sync{}))
	f.Add(encoded(&pgproto3.FunctionCall{Function: 1}))
	f.Add(encoded(&pgproto3.CommandComplete{CommandTag: []byte("SELECT 3")}, &pgproto3.ErrorResponse{Message: "jms_denied_x"}, &pgproto3.ReadyForQuery{TxStatus: 'I'}))
	f.Add([]byte("Q\x00\x00\x00\x03"))
	f.Add([]byte{0, 0, 0, 8, 4, 210, 22, 47})
	f.Fuzz(func(t *testing.T, data []byte) {
		rules := database.NewRuleSet([]database.Rule{{ID: 1, Name: "d", Action: filter.Deny, Priority: 1, Statements: []string{"DROP"}}})
		p := &Proxy{Hooks: database.Hooks{Judge: database.RuleJudge{Rules: rules}}}
		p.defaults()
		var sink bytes.Buffer
		r := newRelay(p, &started{cw: bufio.NewWriter(&sink)})
		_, _ = readStartup(bufio.NewReader(bytes.NewReader(data)))
		br := bufio.NewReader(bytes.NewReader(data))
		for {
			frame, err := readFrame(br, nil)
			if err != nil {
				break
			}
			out, err := r.fromClient(context.Background(), frame)
			if err == nil && (frame[0] == 'Q' || frame[0] == 'P') && bytes.Contains(bytes.ToUpper(frame), []byte("DROP TABLE")) && bytes.Equal(out, frame) {
				var q pgproto3.Query
				if frame[0] == 'Q' && q.Decode(frame[5:]) == nil {
					if v, _ := database.JudgeInput(context.Background(), p.Judge, sqlsplit.PostgreSQL, q.String); !v.Runs() {
						t.Fatalf("denied query forwarded: %q", q.String)
					}
				}
			}
			_ = r.fromServer(frame)
		}
		r.tr.flush("end")
	})
}
