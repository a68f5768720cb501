package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/jms-bastion/jms/store"
)

// grantWindowFlags sets ng's window from --from, --until and --for.
func grantWindowFlags(ng *store.NewGrant, from, until, span string, now time.Time) error {
	if from != "" {
		t, err := parseWhen("from", from, now, false)
		if err != nil {
			return err
		}
		ng.ValidFrom = &t
	}
	switch {
	case until != "" && span != "":
		return errors.New("--until and --for both end the window: give one")
	case until != "":
		t, err := parseWhen("until", until, now, true)
		if err != nil {
			return err
		}
		ng.ValidUntil = &t
	case span != "":
		d, ok := parseSpan(span)
		if !ok {
			return fmt.Errorf("--for %q: want a length such as 4h, 90m, 2d or 1w", span)
		}
		start := now.UTC().Truncate(time.Second)
		if ng.ValidFrom != nil {
			start = *ng.ValidFrom
		}
		t := start.Add(d)
		ng.ValidUntil = &t
	}
	return nil
}
