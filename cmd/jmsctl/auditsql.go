package main

import (
	"strconv"
	"time"

	"github.com/jms-bastion/jms/store"
)

// withStatementColumns adds the columns of SQL statements (rows,
// duration, error) when any event has them, so that a listing of shell
// commands keeps its shape.
func withStatementColumns(events []store.CommandEvent, cols []column[store.CommandEvent]) []column[store.CommandEvent] {
	for _, e := range events {
		if e.Rows != nil || e.DurationMS != nil || e.Error != "" {
			return append(cols,
				column[store.CommandEvent]{"rows", func(e store.CommandEvent) string { return optInt(e.Rows) }},
				column[store.CommandEvent]{"duration", func(e store.CommandEvent) string {
					if e.DurationMS == nil {
						return ""
					}
					return (time.Duration(*e.DurationMS) * time.Millisecond).String()
				}},
				column[store.CommandEvent]{"error", func(e store.CommandEvent) string { return e.Error }})
		}
	}
	return cols
}

func optInt(n *int64) string {
	if n == nil {
		return ""
	}
	return strconv.FormatInt(*n, 10)
}
