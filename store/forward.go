package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ParsePorts reads a comma-separated list of TCP ports, e.g. "22,8080";
// the result is sorted and deduplicated. An empty string is no ports.
func ParsePorts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q: want a number from 1 to 65535", f)
		}
		out = append(out, n)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func checkPorts(ports []int) ([]int, error) {
	for _, p := range ports {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("port %d: want a number from 1 to 65535", p)
		}
	}
	out := slices.Clone(ports)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func formatPorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// splitPorts reads the forward_ports column; what does not parse is
// dropped (the column is only written by formatPorts).
func splitPorts(s string) []int {
	ports, err := ParsePorts(s)
	if err != nil || ports == nil {
		return []int{}
	}
	return ports
}

// forwardGrantPorts returns the ports each of the named grants (of the
// view's organization: grant names are unique within one) opens
// with its forward action: those listed on it, or sshPort (22 when 0)
// when it lists none. Grants without forward, inactive or missing ones
// open nothing.
func (s *Store) forwardGrantPorts(ctx context.Context, grants []string, sshPort int) (map[string][]int, error) {
	out := map[string][]int{}
	if len(grants) == 0 {
		return out, nil
	}
	if sshPort == 0 {
		sshPort = 22
	}
	args := make([]any, len(grants))
	for i, g := range grants {
		args[i] = g
	}
	rows, err := s.db.QueryContext(ctx, `SELECT g.name, g.actions, g.forward_ports FROM grants g WHERE `+s.orgCond("g")+` AND g.active AND g.name IN (`+placeholders(len(grants))+`)`, args...)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, actions, list string
		if err := rows.Scan(&name, &actions, &list); err != nil {
			return nil, wrapError(err)
		}
		if !slices.Contains(splitActions(actions), ActionForward) {
			continue
		}
		if p := splitPorts(list); len(p) > 0 {
			out[name] = p
		} else {
			out[name] = []int{sshPort}
		}
	}
	return out, wrapError(rows.Err())
}
