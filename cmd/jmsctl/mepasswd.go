package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jms-bastion/jms/store"
)

// changeOwnPassword reads the current password and the new one from
// stdin (a line each), checks the current one and the policy, and saves
// the new one. The secrets are never in an error.
func (a *app) changeOwnPassword(ctx context.Context, s *store.Store, name string) error {
	br := bufio.NewReader(io.LimitReader(a.stdin, 64<<10))
	current, err := secretLine(br, "current password")
	if err != nil {
		return err
	}
	next, err := secretLine(br, "new password")
	if err != nil {
		return err
	}
	_, hash, err := s.PasswordHash(ctx, name)
	if err != nil {
		return err
	}
	if hash == "" {
		return errors.New("you have no password yet: an admin sets one (jmsctl user passwd)")
	}
	if _, err := store.VerifyPassword(current, hash, store.DefaultArgon2); err != nil {
		return errors.New("the current password is wrong: nothing changed")
	}
	if string(current) == string(next) {
		return errors.New("the new password must differ from the current one")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if err := (store.PasswordPolicy{MinLength: cfg.PasswordMinLength}).Check(next); err != nil {
		return err
	}
	newHash, err := store.HashPassword(next, store.DefaultArgon2)
	if err != nil {
		return err
	}
	return s.SetPasswordHash(ctx, name, newHash, false)
}

// secretLine reads one line of br as a secret, its line ending dropped.
func secretLine(br *bufio.Reader, what string) (store.Secret, error) {
	line, err := br.ReadBytes('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read the %s from stdin: %w", what, err)
	}
	for n := len(line); n > 0 && (line[n-1] == '\n' || line[n-1] == '\r'); n = len(line) {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return nil, fmt.Errorf("no %s on stdin (give the current password, then the new one, a line each)", what)
	}
	return store.Secret(line), nil
}
