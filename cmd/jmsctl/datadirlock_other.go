//go:build !unix

package main

import (
	"errors"
)

type dataDirLock struct{}

// lockDataDir refuses: without flock, two servers on one data directory
// could not be kept apart.
func lockDataDir(string) (*dataDirLock, error) {
	return nil, errors.New("jmsctl serve needs flock(2) to lock its data directory, which this system does not have")
}

func (*dataDirLock) release() error { return nil }
