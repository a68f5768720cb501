package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// parseWhen reads a grant's --from or --until as people type them:
// "now", a duration from now ("4h", "+90m", "2d", "1w"), an RFC 3339
// time or a date (see parseTimeFlag).
func parseWhen(flag, s string, now time.Time, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "now") {
		return now.UTC().Truncate(time.Second), nil
	}
	if d, ok := parseSpan(strings.TrimPrefix(s, "+")); ok {
		return now.UTC().Add(d).Truncate(time.Second), nil
	}
	t, err := parseTimeFlag(flag, s, endOfDay)
	if err != nil {
		return t, fmt.Errorf("%w, now, or a time from now (4h, 90m, 2d, 1w)", err)
	}
	return t, nil
}

// parseSpan reads a positive Go duration ("4h", "1h30m") or a number
// of days or weeks ("2d", "1w").
func parseSpan(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	if unit := s[len(s)-1]; unit == 'd' || unit == 'w' {
		n, err := strconv.Atoi(s[:len(s)-1])
		if err != nil || n <= 0 || n > 3660 {
			return 0, false
		}
		day := 24 * time.Hour
		if unit == 'w' {
			day *= 7
		}
		return time.Duration(n) * day, true
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, false
	}
	return d, true
}
