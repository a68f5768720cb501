package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// maxPublicFile bounds what a key file (or stdin given as one) may hold:
// an authorized_keys file of a few thousand keys fits.
const maxPublicFile = 1 << 20

// readPublicFile reads a file that holds no secret (public keys), or
// stdin for "-": over SSH, where jmsctl reads no file of the bastion
// machine (localFile), "-" is how a key reaches it. name is what errors
// about its lines call it: the path, or "stdin".
func (a *app) readPublicFile(path string) (b []byte, name string, err error) {
	if path != "-" {
		b, err = os.ReadFile(path)
		return b, path, err
	}
	if a.stdin == nil {
		return nil, "stdin", errors.New("stdin: nothing to read")
	}
	b, err = io.ReadAll(io.LimitReader(a.stdin, maxPublicFile+1))
	if err != nil {
		return nil, "stdin", fmt.Errorf("stdin: %w", err)
	}
	if len(b) > maxPublicFile {
		return nil, "stdin", fmt.Errorf("stdin: more than %d bytes, too much for public keys", maxPublicFile)
	}
	return b, "stdin", nil
}
