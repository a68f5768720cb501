package main

import (
	"testing"
	"time"
)

func TestPercentiles(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	two := make([]int, 200)
	for i := range two {
		two[i] = i + 1
	}
	for _, tc := range []struct {
		name              string
		in                []time.Duration
		p50, p99, slowest time.Duration
	}{
		{"empty", nil, 0, 0, 0},
		{"one", ms(7), 7 * time.Millisecond, 7 * time.Millisecond, 7 * time.Millisecond},
		{"hundred", ms(hundred...), 50 * time.Millisecond, 99 * time.Millisecond, 100 * time.Millisecond},
		{"two hundred", ms(two...), 100 * time.Millisecond, 198 * time.Millisecond, 200 * time.Millisecond},
		{"three", ms(30, 10, 20), 20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p50, p99, slowest := percentiles(tc.in)
			if p50 != tc.p50 || p99 != tc.p99 || slowest != tc.slowest {
				t.Fatalf("percentiles = %v %v %v, want %v %v %v", p50, p99, slowest, tc.p50, tc.p99, tc.slowest)
			}
		})
	}
}
