package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Login rule actions.
const (
	LoginRuleAllow = "allow"
	LoginRuleDeny  = "deny"
)

// LoginRule says who may log in from where and when. A person matches
// when she is one of Users or in one of Groups (both empty: everyone),
// her TCP source address is in one of Sources (empty: anywhere) and the
// time, in the rule's zone, is in one of Times (empty: always). Rules are
// tried by Priority (1-100, lower first; ties by age); the first that
// matches decides; no match allows.
type LoginRule struct {
	ID        int64     `json:"id" yaml:"id"`
	Name      string    `json:"name" yaml:"name"`
	Action    string    `json:"action" yaml:"action"`
	Priority  int       `json:"priority" yaml:"priority"`
	Users     []string  `json:"users" yaml:"users"`
	Groups    []string  `json:"groups" yaml:"groups"`
	Sources   []string  `json:"sources" yaml:"sources"`
	Times     []string  `json:"times" yaml:"times"`
	TZ        string    `json:"tz" yaml:"tz"` // IANA zone; "" is the server's local zone
	Active    bool      `json:"active" yaml:"active"`
	Comment   string    `json:"comment" yaml:"comment"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// Check fills defaults, normalises and checks a rule to add.
func (r *LoginRule) Check() error {
	if err := ValidName("login rule", r.Name); err != nil {
		return err
	}
	r.Action = strings.ToLower(strings.TrimSpace(r.Action))
	if r.Action == "" {
		r.Action = LoginRuleAllow
	}
	if r.Action != LoginRuleAllow && r.Action != LoginRuleDeny {
		return fmt.Errorf("unknown login rule action %q: want allow or deny", r.Action)
	}
	if r.Priority == 0 {
		r.Priority = DefaultFilterPriority
	}
	if r.Priority < 1 || r.Priority > 100 {
		return fmt.Errorf("priority %d is out of range: want 1-100 (lower is matched first)", r.Priority)
	}
	for i, src := range r.Sources {
		p, err := ParseSource(src)
		if err != nil {
			return err
		}
		r.Sources[i] = p.String()
	}
	for i, t := range r.Times {
		tr, err := ParseTimeRange(t)
		if err != nil {
			return err
		}
		r.Times[i] = tr.String()
	}
	if _, err := r.location(); err != nil {
		return err
	}
	return nil
}

func (r LoginRule) location() (*time.Location, error) {
	if r.TZ == "" || r.TZ == "Local" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(r.TZ)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w (want an IANA name such as Europe/Paris, or UTC)", r.TZ, err)
	}
	return loc, nil
}

// ParseSource parses a CIDR or a single address (as /32 or /128).
func ParseSource(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return p, fmt.Errorf("source %q: not a CIDR such as 10.0.0.0/8: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("source %q: not an address or CIDR such as 10.0.0.0/8", s)
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// TimeRange is a weekly time window: on Days, from From to To minutes
// after midnight. From > To runs past midnight into the next day.
type TimeRange struct {
	Days     [7]bool // by time.Weekday
	From, To int     // minutes, 0-1440
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseTimeRange parses "Mon-Fri 08:00-20:00", "Sat,Sun 10:00-12:00",
// "22:00-06:00" (every day, past midnight) or "Mon-Fri" (all day).
func ParseTimeRange(s string) (TimeRange, error) {
	var tr TimeRange
	fields := strings.Fields(s)
	bad := func(why string) (TimeRange, error) {
		return TimeRange{}, fmt.Errorf("time %q: %s (want e.g. \"Mon-Fri 08:00-20:00\")", s, why)
	}
	if len(fields) == 0 || len(fields) > 2 {
		return bad("want days, hours or both")
	}
	days, hours := "", ""
	for _, f := range fields {
		if strings.Contains(f, ":") {
			if hours != "" {
				return bad("two hour ranges")
			}
			hours = f
		} else {
			if days != "" {
				return bad("two day lists")
			}
			days = f
		}
	}
	if days == "" {
		for i := range tr.Days {
			tr.Days[i] = true
		}
	} else {
		for _, part := range strings.Split(strings.ToLower(days), ",") {
			a, b, isRange := strings.Cut(part, "-")
			from := slices.Index(dayNames, shortDay(a))
			to := from
			if isRange {
				to = slices.Index(dayNames, shortDay(b))
			}
			if from < 0 || to < 0 {
				return bad(fmt.Sprintf("unknown day in %q", part))
			}
			for d := from; ; d = (d + 1) % 7 {
				tr.Days[d] = true
				if d == to {
					break
				}
			}
		}
	}
	tr.From, tr.To = 0, 24*60
	if hours != "" {
		a, b, ok := strings.Cut(hours, "-")
		if !ok {
			return bad("hours are HH:MM-HH:MM")
		}
		var err error
		if tr.From, err = parseClock(a); err != nil {
			return bad(err.Error())
		}
		if tr.To, err = parseClock(b); err != nil {
			return bad(err.Error())
		}
		if tr.From == tr.To {
			return bad("empty hour range")
		}
	}
	return tr, nil
}

func shortDay(d string) string {
	if len(d) >= 3 {
		return d[:3]
	}
	return d
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return hh*60 + mm, nil
}

// String is the canonical form, e.g. "Mon-Fri 08:00-20:00".
func (tr TimeRange) String() string {
	var days []string
	for d := 0; d < 7; {
		if !tr.Days[d] {
			d++
			continue
		}
		e := d
		for e+1 < 7 && tr.Days[e+1] {
			e++
		}
		name := func(i int) string { return strings.ToUpper(dayNames[i][:1]) + dayNames[i][1:] }
		switch {
		case e == d:
			days = append(days, name(d))
		default:
			days = append(days, name(d)+"-"+name(e))
		}
		d = e + 1
	}
	clock := func(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }
	return strings.Join(days, ",") + " " + clock(tr.From) + "-" + clock(tr.To)
}

// Contains reports whether t (in its own zone) is in the range.
func (tr TimeRange) Contains(t time.Time) bool {
	wd := int(t.Weekday())
	m := t.Hour()*60 + t.Minute()
	if tr.From < tr.To {
		return tr.Days[wd] && m >= tr.From && m < tr.To
	}
	return (tr.Days[wd] && m >= tr.From) || (tr.Days[(wd+6)%7] && m < tr.To)
}

// LoginAttempt is what login rules judge.
type LoginAttempt struct {
	User   string
	Groups []string
	Source netip.Addr
	At     time.Time
}

// Matches reports whether the rule covers the attempt. A rule whose
// zone or ranges do not parse (edited by hand) matches nothing.
func (r LoginRule) Matches(a LoginAttempt) bool {
	if len(r.Users) > 0 || len(r.Groups) > 0 {
		in := slices.Contains(r.Users, a.User)
		for _, g := range a.Groups {
			in = in || slices.Contains(r.Groups, g)
		}
		if !in {
			return false
		}
	}
	if len(r.Sources) > 0 {
		in := false
		for _, s := range r.Sources {
			if p, err := ParseSource(s); err == nil && a.Source.IsValid() && p.Contains(a.Source.Unmap()) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	if len(r.Times) > 0 {
		loc, err := r.location()
		if err != nil {
			return false
		}
		at := a.At.In(loc)
		in := false
		for _, s := range r.Times {
			if tr, err := ParseTimeRange(s); err == nil && tr.Contains(at) {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}

// DecideLogin runs the active rules over an attempt by priority: the
// first that matches decides. It returns that rule, or ok false when
// none matches (and the login is allowed).
func DecideLogin(rules []LoginRule, a LoginAttempt) (LoginRule, bool) {
	sorted := slices.Clone(rules)
	sort.SliceStable(sorted, func(i, j int) bool {
		if sorted[i].Priority != sorted[j].Priority {
			return sorted[i].Priority < sorted[j].Priority
		}
		return sorted[i].ID < sorted[j].ID
	})
	for _, r := range sorted {
		if r.Active && r.Matches(a) {
			return r, true
		}
	}
	return LoginRule{}, false
}

func joinLines(v []string) string { return strings.Join(v, "\n") }

func splitLines(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, "\n")
}

// AddLoginRule adds a login rule; the users and groups it names must
// exist.
func (s *Store) AddLoginRule(ctx context.Context, r LoginRule) (LoginRule, error) {
	if err := r.Check(); err != nil {
		return LoginRule{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		for _, u := range r.Users {
			if err := mustExist(ctx, q, "user", `SELECT id FROM users WHERE name = ?`, u); err != nil {
				return err
			}
		}
		for _, g := range r.Groups {
			if err := mustExist(ctx, q, "group", `SELECT id FROM groups WHERE name = ?`, g); err != nil {
				return err
			}
		}
		_, err := q.ExecContext(ctx, `INSERT INTO login_rules (name, action, priority, users, groups, sources, times, tz, comment, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Name, r.Action, r.Priority, joinLines(r.Users), joinLines(r.Groups),
			joinLines(r.Sources), joinLines(r.Times), r.TZ, r.Comment, formatTime(s.now()))
		if err = wrapError(err); errors.Is(err, ErrConflict) {
			return fmt.Errorf("login rule %q already exists: %w", r.Name, ErrConflict)
		} else if err != nil {
			return err
		}
		return s.recordOp(ctx, q, "acl.add", r.Name, map[string]any{"action": r.Action, "priority": r.Priority,
			"users": r.Users, "groups": r.Groups, "sources": r.Sources, "times": r.Times, "tz": r.TZ})
	})
	if err != nil {
		return LoginRule{}, err
	}
	return s.GetLoginRule(ctx, r.Name)
}

func mustExist(ctx context.Context, q querier, kind, query, name string) error {
	var id int64
	if err := q.QueryRowContext(ctx, query, name).Scan(&id); err != nil {
		if err = wrapError(err); errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
		}
		return err
	}
	return nil
}

const loginRuleColumns = `id, name, action, priority, users, groups, sources, times, tz, active, comment, created_at`

func scanLoginRule(sc interface{ Scan(...any) error }) (LoginRule, error) {
	var r LoginRule
	var users, groups, sources, times, created string
	err := sc.Scan(&r.ID, &r.Name, &r.Action, &r.Priority, &users, &groups, &sources, &times, &r.TZ, &r.Active, &r.Comment, &created)
	if err != nil {
		return r, wrapError(err)
	}
	r.Users, r.Groups, r.Sources, r.Times = splitLines(users), splitLines(groups), splitLines(sources), splitLines(times)
	r.CreatedAt = parseTime(created)
	return r, nil
}

// GetLoginRule returns the login rule called name.
func (s *Store) GetLoginRule(ctx context.Context, name string) (LoginRule, error) {
	r, err := scanLoginRule(s.db.QueryRowContext(ctx, `SELECT `+loginRuleColumns+` FROM login_rules WHERE name = ?`, name))
	if errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("login rule %q: %w", name, ErrNotFound)
	}
	return r, err
}

// ListLoginRules returns every login rule in the order they are tried.
func (s *Store) ListLoginRules(ctx context.Context) ([]LoginRule, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+loginRuleColumns+` FROM login_rules ORDER BY priority, id`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	var out []LoginRule
	for rows.Next() {
		r, err := scanLoginRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, wrapError(rows.Err())
}

// RemoveLoginRule deletes the login rules called names, all or none, in one
// transaction.
func (s *Store) RemoveLoginRule(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "login rule", "login_rules", "acl.rm", names)
}
