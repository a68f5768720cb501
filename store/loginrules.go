package store

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
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

// sourceSyntax is what a source may be, for error messages.
const sourceSyntax = `want a CIDR such as 10.0.0.0/8 or 2001:db8::/32, or one address such as 192.0.2.7`

// ParseSource parses a CIDR or a single address (as /32 or /128). A CIDR
// with host bits set (10.0.0.1/8) is refused, naming the network it may
// mean: a typo there would allow or deny far more than intended.
func ParseSource(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if p, err := netip.ParsePrefix(s); err == nil {
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("source %q has host bits set: did you mean %s? (or %s/%d for that one address)",
				s, p.Masked(), p.Addr(), p.Addr().BitLen())
		}
		return p, nil
	}
	if !strings.Contains(s, "/") {
		if a, err := netip.ParseAddr(s); err == nil {
			return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
		}
	}
	msg := fmt.Sprintf("source %q is not a CIDR or an address", s)
	if len(s) <= 64 {
		if alt, ok := suggestSource(s); ok {
			msg += fmt.Sprintf(": did you mean %s?", alt)
		}
	}
	return netip.Prefix{}, fmt.Errorf("%s (%s)", msg, sourceSyntax)
}

// suggestSource returns the CIDR that s, not one, most likely means: a
// netmask (10.0.0.0/255.0.0.0), a wildcard (10.1.*.*), spaces
// (10.0.0.0 / 8).
func suggestSource(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), "")
	addr, mask, ok := strings.Cut(s, "/")
	if ok {
		m, err := netip.ParseAddr(mask)
		if err != nil || !m.Is4() {
			return prefixString(addr + "/" + mask)
		}
		b := m.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		ones := bits.LeadingZeros32(^v)
		if v<<ones != 0 {
			return "", false // not a netmask: its ones are not contiguous
		}
		return prefixString(fmt.Sprintf("%s/%d", addr, ones))
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return "", false
	}
	n := 32
	for i, p := range parts {
		if p == "*" || p == "x" {
			if n == 32 {
				n = 8 * i
			}
			parts[i] = "0"
		} else if n != 32 {
			return "", false // 10.*.0.1 means nothing
		}
	}
	if n == 32 {
		return "", false
	}
	return prefixString(fmt.Sprintf("%s/%d", strings.Join(parts, "."), n))
}

// prefixString is the masked form of a CIDR, if s is one.
func prefixString(s string) (string, bool) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", false
	}
	return p.Masked().String(), true
}

// TimeRange is a weekly time window: on Days, from From to To minutes
// after midnight. From > To runs past midnight into the next day.
type TimeRange struct {
	Days     [7]bool // by time.Weekday
	From, To int     // minutes, 0-1440
}

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// timeSyntax is what a time range may be, for error messages.
const timeSyntax = `want "DAYS HH:MM-HH:MM", "DAYS" or "HH:MM-HH:MM": days Mon..Sun, ` +
	`as a range (Mon-Fri) or a list (Sat,Sun); hours on 24 hours with minutes; e.g. "Mon-Fri 08:00-20:00"`

// ParseTimeRange parses "Mon-Fri 08:00-20:00", "Sat,Sun 10:00-12:00",
// "22:00-06:00" (every day, past midnight) or "Mon-Fri" (all day). An
// error names the accepted syntax and, when s is close to a valid form
// ("Mon-Fri 8-20", "9am-5pm", "weekdays"), that form.
func ParseTimeRange(s string) (TimeRange, error) {
	tr, why := parseTimeRange(s, false)
	if why == "" {
		return tr, nil
	}
	msg := fmt.Sprintf("time %q: %s", s, why)
	if len(s) <= 64 {
		if alt, ok := suggestTimeRange(s); ok {
			msg += fmt.Sprintf("; did you mean %q?", alt)
		}
	}
	return TimeRange{}, fmt.Errorf("%s (%s)", msg, timeSyntax)
}

// suggestTimeRange returns the valid form that s most likely means.
func suggestTimeRange(s string) (string, bool) {
	tr, why := parseTimeRange(s, true)
	if why != "" {
		return "", false
	}
	alt := tr.short()
	if _, why := parseTimeRange(alt, false); why != "" {
		return "", false
	}
	return alt, true
}

// short is the shortest canonical form: without the days when every
// day is in, without the hours when the whole day is.
func (tr TimeRange) short() string {
	full := tr.String()
	days, hours, _ := strings.Cut(full, " ")
	switch {
	case days == "Sun-Sat" && hours == "00:00-24:00":
		return "Sun-Sat"
	case days == "Sun-Sat":
		return hours
	case hours == "00:00-24:00":
		return days
	}
	return full
}

// dayAliases are day lists a person may type that the strict form
// spells otherwise; only suggested, never accepted.
var dayAliases = map[string]string{"weekdays": "mon-fri", "weekday": "mon-fri", "workdays": "mon-fri",
	"weekends": "sat,sun", "weekend": "sat,sun", "daily": "mon-sun", "everyday": "mon-sun"}

// parseTimeRange parses s and returns why it is not a time range, or
// "". lenient reads close forms too: hours without minutes or with
// am/pm, spaces around the dashes, day aliases.
func parseTimeRange(s string, lenient bool) (TimeRange, string) {
	var tr TimeRange
	if lenient {
		s = strings.ToLower(s)
		for _, sep := range []string{" - ", " -", "- ", " to ", "–", "..", "~"} {
			s = strings.ReplaceAll(s, sep, "-")
		}
		s = strings.ReplaceAll(s, ", ", ",")
	}
	fields := strings.Fields(s)
	if len(fields) == 0 || len(fields) > 2 {
		return tr, "want days, hours or both, separated by one space"
	}
	days, hours := "", ""
	for _, f := range fields {
		if isHours(f) {
			if hours != "" {
				return tr, "two hour ranges"
			}
			hours = f
		} else {
			if days != "" {
				return tr, "two day lists"
			}
			days = f
		}
	}
	if why := parseDays(&tr, days, lenient); why != "" {
		return tr, why
	}
	tr.From, tr.To = 0, 24*60
	if hours == "" {
		return tr, ""
	}
	a, b, ok := strings.Cut(hours, "-")
	if !ok {
		return tr, "hours are HH:MM-HH:MM, a start and an end"
	}
	var err error
	if tr.From, err = readClock(a, lenient); err != nil {
		return tr, err.Error()
	}
	if tr.To, err = readClock(b, lenient); err != nil {
		return tr, err.Error()
	}
	if tr.From == tr.To {
		return tr, "empty hour range"
	}
	return tr, ""
}

// isHours reports whether a field of a time range is its hours: it has
// a colon or starts with a digit ("8-20" is hours without minutes).
func isHours(f string) bool {
	return strings.Contains(f, ":") || (f != "" && f[0] >= '0' && f[0] <= '9')
}

// parseDays sets tr.Days from a day list ("" is every day).
func parseDays(tr *TimeRange, days string, lenient bool) string {
	if days == "" {
		for i := range tr.Days {
			tr.Days[i] = true
		}
		return ""
	}
	days = strings.ToLower(days)
	if alias, ok := dayAliases[days]; ok && lenient {
		days = alias
	}
	for _, part := range strings.Split(days, ",") {
		a, b, isRange := strings.Cut(part, "-")
		from := slices.Index(dayNames, shortDay(a))
		to := from
		if isRange {
			to = slices.Index(dayNames, shortDay(b))
		}
		if from < 0 || to < 0 {
			return fmt.Sprintf("unknown day in %q", part)
		}
		for d := from; ; d = (d + 1) % 7 {
			tr.Days[d] = true
			if d == to {
				break
			}
		}
	}
	return ""
}

func shortDay(d string) string {
	if len(d) >= 3 {
		return d[:3]
	}
	return d
}

// readClock reads a time of day: HH:MM, or leniently also H, Hh, H.MM,
// Ham and Hpm.
func readClock(s string, lenient bool) (int, error) {
	if !lenient {
		return parseClock(s)
	}
	half := ""
	for _, suffix := range []string{"am", "pm", "a", "p"} {
		if x, ok := strings.CutSuffix(s, suffix); ok {
			s, half = x, suffix[:1]
			break
		}
	}
	s = strings.TrimSuffix(strings.Replace(s, ".", ":", 1), "h")
	s = strings.Replace(s, "h", ":", 1)
	if !strings.Contains(s, ":") {
		s += ":00"
	}
	m, err := parseClock(s)
	if err != nil || half == "" {
		return m, err
	}
	if m < 60 || m >= 13*60 {
		return 0, fmt.Errorf("%q is not an hour of a 12-hour clock", s)
	}
	switch {
	case half == "a" && m >= 12*60:
		m -= 12 * 60
	case half == "p" && m < 12*60:
		m += 12 * 60
	}
	return m, nil
}

func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) == 0 || len(h) > 2 || len(m) != 2 || !digits(h) || !digits(m) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM (00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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

// AddLoginRule adds a login rule to the scope's organization; the users
// it names must be its members and its groups must be in it.
func (s *Store) AddLoginRule(ctx context.Context, r LoginRule) (LoginRule, error) {
	if err := r.Check(); err != nil {
		return LoginRule{}, err
	}
	org, err := s.writeOrg()
	if err != nil {
		return LoginRule{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		if err := (memberResolver{q: q, org: org}).checkRuleMembers(ctx, r.Users, r.Groups); err != nil {
			return err
		}
		_, err := q.ExecContext(ctx, `INSERT INTO login_rules (name, action, priority, users, groups, sources, times, tz, comment, created_at, org_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Name, r.Action, r.Priority, joinLines(r.Users), joinLines(r.Groups),
			joinLines(r.Sources), joinLines(r.Times), r.TZ, r.Comment, formatTime(s.now()), org)
		if err != nil {
			return nameTaken(err, "login rule", r.Name)
		}
		return s.recordOp(ctx, q, "acl.add", r.Name, map[string]any{"action": r.Action, "priority": r.Priority,
			"users": r.Users, "groups": r.Groups, "sources": r.Sources, "times": r.Times, "tz": r.TZ})
	})
	if err != nil {
		return LoginRule{}, err
	}
	return s.GetLoginRule(ctx, r.Name)
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
	r, err := scanLoginRule(s.db.QueryRowContext(ctx, `SELECT `+loginRuleColumns+` FROM login_rules r WHERE name = ? AND `+s.orgCond("r"), name))
	if errors.Is(err, ErrNotFound) {
		return r, fmt.Errorf("login rule %q: %w", name, ErrNotFound)
	}
	return r, err
}

// ListLoginRules returns the scope's login rules in the order they are
// tried.
func (s *Store) ListLoginRules(ctx context.Context) ([]LoginRule, error) {
	return s.queryLoginRules(ctx, `SELECT `+loginRuleColumns+` FROM login_rules r WHERE `+s.orgCond("r")+` ORDER BY priority, id`)
}

// queryLoginRules runs a query that selects loginRuleColumns.
func (s *Store) queryLoginRules(ctx context.Context, query string, args ...any) ([]LoginRule, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
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

// LoginRuleUpdate is a change to a login rule; nil and empty fields keep
// their value.
type LoginRuleUpdate struct {
	Action                *string
	Priority              *int
	TZ                    *string
	AddUsers, RmUsers     []string
	AddGroups, RmGroups   []string
	AddSources, RmSources []string
	AddTimes, RmTimes     []string
	Comment               *string
}

// normalized returns each value in its canonical form (as Check stores
// it), so that --rm-source 10.0.0.1 finds 10.0.0.1/32.
func normalized(values []string, parse func(string) (string, error)) ([]string, error) {
	out := make([]string, 0, len(values))
	for _, v := range values {
		n, err := parse(v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func canonSource(s string) (string, error) {
	p, err := ParseSource(s)
	return p.String(), err
}

func canonTime(s string) (string, error) {
	tr, err := ParseTimeRange(s)
	return tr.String(), err
}

// planLoginRuleUpdate returns the rule cur after ru, checked as a new
// rule is. Removing the last user and group, source or time is refused:
// the rule would then cover everyone, anywhere or always.
func planLoginRuleUpdate(cur LoginRule, ru LoginRuleUpdate) (LoginRule, error) {
	r := cur
	owner := "login rule " + strconv.Quote(cur.Name)
	if ru.Action != nil {
		// An empty action means allow to Check: on a change that would
		// silently turn a deny into an allow.
		if strings.TrimSpace(*ru.Action) == "" {
			return r, errors.New("--action needs a value: allow or deny")
		}
		r.Action = *ru.Action
	}
	if ru.Priority != nil {
		if *ru.Priority == 0 {
			return r, errors.New("priority 0 is out of range: want 1-100 (lower is matched first)")
		}
		r.Priority = *ru.Priority
	}
	if ru.TZ != nil {
		r.TZ = *ru.TZ
	}
	if ru.Comment != nil {
		r.Comment = *ru.Comment
	}
	var err error
	edits := []struct {
		flag    string
		have    []string
		add, rm []string
		canon   func(string) (string, error)
		dst     *[]string
	}{
		{"user", cur.Users, ru.AddUsers, ru.RmUsers, nil, &r.Users},
		{"group", cur.Groups, ru.AddGroups, ru.RmGroups, nil, &r.Groups},
		{"source", cur.Sources, ru.AddSources, ru.RmSources, canonSource, &r.Sources},
		{"time", cur.Times, ru.AddTimes, ru.RmTimes, canonTime, &r.Times},
	}
	for _, ed := range edits {
		add, rm := ed.add, ed.rm
		if ed.canon != nil {
			if add, err = normalized(add, ed.canon); err != nil {
				return r, err
			}
			if rm, err = normalized(rm, ed.canon); err != nil {
				return r, err
			}
		}
		if *ed.dst, err = (listEdit{ed.flag, ed.have, add, rm}).apply(owner); err != nil {
			return r, err
		}
	}
	if err := checkNotWidened(owner, cur.Users, cur.Groups, r.Users, r.Groups, "everyone", "--add-user or --add-group"); err != nil {
		return r, err
	}
	if err := checkNotWidened(owner, cur.Sources, nil, r.Sources, nil, "every source address", "--add-source"); err != nil {
		return r, err
	}
	if err := checkNotWidened(owner, cur.Times, nil, r.Times, nil, "all times", "--add-time"); err != nil {
		return r, err
	}
	return r, r.Check()
}

// UpdateLoginRule changes a login rule in one transaction, checked as
// acl add checks a new one; users and groups added must exist.
func (s *Store) UpdateLoginRule(ctx context.Context, name string, ru LoginRuleUpdate) (LoginRule, error) {
	org, err := s.writeOrg()
	if err != nil {
		return LoginRule{}, err
	}
	cur, err := s.GetLoginRule(ctx, name)
	if err != nil {
		return LoginRule{}, err
	}
	r, err := planLoginRuleUpdate(cur, ru)
	if err != nil {
		return LoginRule{}, err
	}
	err = s.withTx(ctx, func(q querier) error {
		if err := (memberResolver{q: q, org: org}).checkRuleMembers(ctx, ru.AddUsers, ru.AddGroups); err != nil {
			return err
		}
		if err := execOne(ctx, q, "login rule", name, `UPDATE login_rules SET action = ?, priority = ?, users = ?, groups = ?,
			sources = ?, times = ?, tz = ?, comment = ? WHERE id = ? AND org_id = ?`, r.Action, r.Priority, joinLines(r.Users),
			joinLines(r.Groups), joinLines(r.Sources), joinLines(r.Times), r.TZ, r.Comment, cur.ID, org); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "acl.set", name, map[string]any{"action": r.Action, "priority": r.Priority,
			"users": r.Users, "groups": r.Groups, "sources": r.Sources, "times": r.Times, "tz": r.TZ})
	})
	if err != nil {
		return LoginRule{}, err
	}
	return s.GetLoginRule(ctx, name)
}

// SetLoginRuleActive turns a login rule on or off without removing it.
func (s *Store) SetLoginRuleActive(ctx context.Context, name string, active bool) error {
	org, err := s.writeOrg()
	if err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		if err := execOne(ctx, q, "login rule", name, `UPDATE login_rules SET active = ? WHERE name = ? AND org_id = ?`, active, name, org); err != nil {
			return err
		}
		action := "acl.disable"
		if active {
			action = "acl.enable"
		}
		return s.recordOp(ctx, q, action, name, nil)
	})
}
