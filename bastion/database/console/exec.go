package console

import (
	"context"
	"fmt"
	"io"

	"github.com/jms-bastion/jms/bastion/database"
)

// Exec runs the statements of input for a script (ssh … db1 'SELECT …'):
// results go to out as TSV (or JSON, one object per statement), denials
// and errors to errOut, one line each. It returns the exit status: 0 when
// every statement ran, 1 otherwise (the statements after a failed one are
// not run).
func Exec(ctx context.Context, s *database.Session, input string, f database.Format, out, errOut io.Writer) int {
	if f != database.JSON {
		f = database.TSV
	}
	outs := s.Run(ctx, input)
	if len(outs) == 0 {
		fmt.Fprintln(errOut, "Error: no SQL statement given")
		return 1
	}
	for _, o := range outs {
		switch {
		case database.IsDenied(o.Err):
			fmt.Fprintf(errOut, "Denied: %s\n", o.Err)
		case o.Err != nil:
			fmt.Fprintln(errOut, o.Err)
		default:
			if o.Verdict.Message != "" {
				fmt.Fprintf(errOut, "Warning: %s\n", o.Verdict.Message)
			}
			if err := database.WriteResult(out, o.Result, f, 0); err != nil {
				fmt.Fprintln(errOut, err)
				return 1
			}
		}
	}
	if database.Failed(outs) {
		return 1
	}
	return 0
}
