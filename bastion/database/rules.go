package database

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jms-bastion/jms/bastion/filter"
)

// Rule is one statement filter (a command filter with the SQL scope) as the
// store hands it over, already narrowed to those whose scope covers the
// session.
//
// A rule matches a statement when its Regex matches or one of its
// Statements does (either is enough; a rule with neither never matches).
//
// Statements are statement kinds: a kind of one word (DROP) matches a
// statement whose verb is that word; a kind of several words (DROP
// DATABASE, ALTER SYSTEM) matches the statement's leading words. Case does
// not matter. The verb looks through comments, parentheses, MySQL's
// executable comments and WITH's expressions (see [sqlsplit.Statement]).
//
// Regex: a Go regular expression, unanchored. For deny, warn and review it
// is tried against the statement as written and against its normalized
// form (comments dropped, whitespace runs as one space); either matching is
// enough, so `(?i)^\s*drop\s` matches `/* x */ DROP TABLE t`. For allow it
// is tried against the normalized form only, so a comment cannot satisfy
// an allow rule.
type Rule struct {
	ID         int64
	Name       string
	Action     filter.Action
	Priority   int // 1..100, lower first
	Regex      *regexp.Regexp
	Statements []string
}

// ParseStatementKinds reads a --statement list (DROP,TRUNCATE,"DROP
// DATABASE") into kinds: upper case, single spaces, empty entries refused.
func ParseStatementKinds(list string) ([]string, error) {
	var out []string
	for _, k := range strings.Split(list, ",") {
		words := strings.Fields(strings.ToUpper(k))
		if len(words) == 0 {
			return nil, fmt.Errorf("statement kind list %q has an empty entry", list)
		}
		for _, w := range words {
			if !isKeyword(w) {
				return nil, fmt.Errorf("statement kind %q is not a SQL keyword (letters and _ only)", strings.TrimSpace(k))
			}
		}
		out = append(out, strings.Join(words, " "))
	}
	return out, nil
}

func isKeyword(w string) bool {
	for _, c := range w {
		if c != '_' && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return w != ""
}

// RuleSet is a list of rules ready to judge statements: sorted by priority
// (ID breaks ties). It is safe for concurrent use.
type RuleSet struct {
	rules []compiledRule
}

type compiledRule struct {
	rule  *Rule
	kinds [][]string
}

// NewRuleSet sorts a copy of rules by priority, then ID.
func NewRuleSet(rules []Rule) *RuleSet {
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b Rule) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	rs := &RuleSet{rules: make([]compiledRule, 0, len(sorted))}
	for i := range sorted {
		cr := compiledRule{rule: &sorted[i]}
		for _, k := range sorted[i].Statements {
			if ws := strings.Fields(strings.ToUpper(k)); len(ws) > 0 {
				cr.kinds = append(cr.kinds, ws)
			}
		}
		rs.rules = append(rs.rules, cr)
	}
	return rs
}

// Evaluate judges one statement: the first rule that matches decides; no
// match allows.
func (rs *RuleSet) Evaluate(stmt Statement) Verdict {
	for _, cr := range rs.rules {
		if cr.matches(stmt) {
			r := cr.rule
			return Verdict{Action: r.Action, Rule: r.Name, RuleID: r.ID, Message: message(r, stmt)}
		}
	}
	return Verdict{Action: filter.Allow}
}

func (cr compiledRule) matches(stmt Statement) bool {
	for _, k := range cr.kinds {
		if len(stmt.Keywords) >= len(k) && slices.Equal(stmt.Keywords[:len(k)], k) {
			return true
		}
	}
	re := cr.rule.Regex
	if re == nil {
		return false
	}
	if re.MatchString(stmt.Normalized) {
		return true
	}
	return cr.rule.Action != filter.Allow && re.MatchString(stmt.Text)
}

func message(r *Rule, stmt Statement) string {
	what := "statement"
	if stmt.Kind != "" {
		what = stmt.Kind + " statement"
	}
	switch r.Action {
	case filter.Deny:
		return fmt.Sprintf("%s denied by filter %q", what, r.Name)
	case filter.Review:
		return fmt.Sprintf("%s held for review by filter %q", what, r.Name)
	case filter.Warn:
		return fmt.Sprintf("%s flagged by filter %q", what, r.Name)
	}
	return ""
}

// Reviewer holds a statement for review and waits for the decision: it
// returns whether a reviewer approved and the ticket. An error (the wait
// cancelled, the store unreachable) denies.
type Reviewer func(ctx context.Context, stmt Statement, v Verdict) (approved bool, ticket int64, err error)

// RuleJudge is the Judge of a session's statement filters: Rules decide,
// and Review (nil: every review denies) resolves the statements they hold.
type RuleJudge struct {
	Rules  *RuleSet
	Review Reviewer
}

// Judge implements Judge.
func (j RuleJudge) Judge(ctx context.Context, stmt Statement) Verdict {
	v := Verdict{Action: filter.Allow}
	if j.Rules != nil {
		v = j.Rules.Evaluate(stmt)
	}
	if v.Action != filter.Review {
		return v
	}
	if j.Review == nil {
		v.Action, v.Message = filter.Deny, v.Message+"; no reviewer is available, so it is denied"
		return v
	}
	ok, ticket, err := j.Review(ctx, stmt, v)
	v.Ticket = ticket
	switch {
	case err != nil:
		v.Action, v.Message = filter.Deny, fmt.Sprintf("%s; review did not complete: %v", v.Message, err)
	case ok:
		v.Action, v.Message = filter.Allow, fmt.Sprintf("%s; approved (ticket %d)", v.Message, ticket)
	default:
		v.Action, v.Message = filter.Deny, fmt.Sprintf("%s; rejected (ticket %d)", v.Message, ticket)
	}
	return v
}
