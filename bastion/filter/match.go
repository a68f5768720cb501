package filter

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Action is what a filter does with a command it matches.
type Action int

// The actions, in increasing severity. The zero Action is not valid in a
// Rule; a Verdict that no rule decided carries Allow.
const (
	Allow Action = iota + 1
	Warn
	Review
	Deny
)

// String returns the action's name as the CLI spells it.
func (a Action) String() string {
	switch a {
	case Allow:
		return "allow"
	case Warn:
		return "warn"
	case Review:
		return "review"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// ParseAction reads an action name: allow, deny, warn or review.
func ParseAction(s string) (Action, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "allow":
		return Allow, nil
	case "warn":
		return Warn, nil
	case "review":
		return Review, nil
	case "deny":
		return Deny, nil
	}
	return 0, fmt.Errorf("unknown filter action %q (want allow, deny, warn or review)", s)
}

// CompilePattern compiles a filter's --regex.
func CompilePattern(pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("filter regex %q is not a valid Go regular expression: %w", pattern, err)
	}
	return re, nil
}

// Rule is one command filter as the store hands it over, already narrowed
// to the ones whose scope covers the session.
//
// A rule matches a sub-command when its Regex matches it or when one of its
// Commands does (either is enough; a rule with neither never matches).
//
// Commands of a deny, warn or review rule: a single word (reboot) matches a sub-command when any of its
// shell words, after quote removal, is that word or a path ending in
// /word: reboot matches `reboot`, `/sbin/reboot`, `sudo -u root reboot`,
// `env FOO=1 reboot`, `r\eboot`, `systemctl reboot`, `watch reboot` and also
// `echo reboot` and `man reboot` (a word boundary, as in JumpServer: the
// filter does not guess which argument a program will run), but never
// `rebooted`, `rebooted.txt` or `reboot.sh`. A command of several words
// (rm -rf /) matches when that sequence of words appears in the normalized
// sub-command (see [Normalize]), its first word compared by basename, so it
// matches `sudo /bin/rm -rf /` but not `rm -fr /`.
//
// Commands of an allow rule match the command position only: the program
// the normalized sub-command runs (by its basename), followed by the
// rule's other words. allow ls matches `ls -l` and `sudo /bin/ls`, never
// `touch x ls` or `echo ls`; an allow rule cannot be satisfied by a word
// later in the line.
//
// Regex: a Go regular expression, unanchored, tried against two forms of
// each sub-command: the raw text as typed (`sudo  r\eboot`) and the
// normalized words joined by single spaces (`reboot`); either matching is
// enough. Anchor with ^ to match the command position of the normalized
// form: ^reboot( |$) matches `sudo reboot` but not `echo reboot`.
type Rule struct {
	ID       int64
	Name     string
	Action   Action
	Priority int // 1..100, lower first
	Regex    *regexp.Regexp
	Commands []string
}

// Verdict is the judgement of one command line.
type Verdict struct {
	Action     Action // Allow when no rule matched
	Rule       *Rule  // the rule that decided; nil when none matched
	Line       string // the line judged
	SubCommand string // the sub-command the deciding rule matched
	Message    string // one line for the user; empty for a plain allow
}

// Matched reports whether a rule decided the verdict.
func (v Verdict) Matched() bool { return v.Rule != nil }

// RuleSet is a list of rules ready to judge lines: sorted by priority (ID
// breaks ties) with their commands split once. It is safe for concurrent
// use. Build one per session (or per change of filters).
type RuleSet struct {
	rules []compiledRule
}

type compiledRule struct {
	rule     *Rule
	commands [][]string
}

// NewRuleSet sorts a copy of rules by priority, then ID.
func NewRuleSet(rules []Rule) *RuleSet {
	rs := &RuleSet{rules: make([]compiledRule, 0, len(rules))}
	sorted := slices.Clone(rules)
	slices.SortStableFunc(sorted, func(a, b Rule) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for i := range sorted {
		cr := compiledRule{rule: &sorted[i]}
		for _, c := range sorted[i].Commands {
			if ws := Words(c); len(ws) > 0 {
				cr.commands = append(cr.commands, ws)
			}
		}
		rs.rules = append(rs.rules, cr)
	}
	return rs
}

// Rules returns the rules in the order they are tried.
func (rs *RuleSet) Rules() []Rule {
	out := make([]Rule, len(rs.rules))
	for i, r := range rs.rules {
		out[i] = *r.rule
	}
	return out
}

// Evaluate is NewRuleSet(rules).Evaluate(line).
func Evaluate(rules []Rule, line string) Verdict {
	return NewRuleSet(rules).Evaluate(line)
}

// EvaluateLines is NewRuleSet(rules).EvaluateLines(text).
func EvaluateLines(rules []Rule, text string) []Verdict {
	return NewRuleSet(rules).EvaluateLines(text)
}

// subject is one sub-command in the forms the rules look at.
type subject struct {
	raw   string
	words []string // quote-removed words, redirections dropped
	norm  []string // words with prefixes looked through
	normS string
}

func newSubject(raw string) subject {
	plain := plainWords(raw)
	norm := stripPrefixes(plain)
	return subject{raw: raw, words: plain, norm: norm, normS: strings.Join(norm, " ")}
}

// Evaluate splits line into its sub-commands and judges each: the rules are
// tried in order and the first that matches decides for that sub-command.
// The line's verdict is the most severe of its sub-commands' (deny, then
// review, warn, allow); among equals the first sub-command wins. No match
// allows.
func (rs *RuleSet) Evaluate(line string) Verdict {
	best := Verdict{Action: Allow, Line: line}
	if len(rs.rules) == 0 {
		return best
	}
	for _, sc := range Split(line) {
		s := newSubject(sc)
		for _, cr := range rs.rules {
			if !cr.matches(&s) {
				continue
			}
			if best.Rule == nil || cr.rule.Action > best.Action {
				best.Action = cr.rule.Action
				best.Rule = cr.rule
				best.SubCommand = sc
			}
			break
		}
		if best.Action == Deny {
			break
		}
	}
	best.Message = message(best)
	return best
}

// EvaluateLines judges each line of text on its own (a multi-line paste),
// in order. Empty lines are skipped.
func (rs *RuleSet) EvaluateLines(text string) []Verdict {
	var out []Verdict
	for _, l := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.TrimSpace(l) == "" {
			continue
		}
		out = append(out, rs.Evaluate(l))
	}
	return out
}

// Worst returns the most severe of verdicts (the first among equals), or a
// plain allow when there are none.
func Worst(verdicts ...Verdict) Verdict {
	best := Verdict{Action: Allow}
	for i, v := range verdicts {
		if i == 0 || v.rank() > best.rank() {
			best = v
		}
	}
	return best
}

// rank orders verdicts by severity: deny > review > warn > allow > no match.
func (v Verdict) rank() int {
	if v.Rule == nil {
		return 0
	}
	return int(v.Action)
}

func (cr *compiledRule) matches(s *subject) bool {
	if re := cr.rule.Regex; re != nil {
		if re.MatchString(s.raw) || re.MatchString(s.normS) {
			return true
		}
	}
	if cr.rule.Action == Allow {
		return cr.matchesProgram(s)
	}
	for _, c := range cr.commands {
		if len(c) == 1 {
			if hasWord(s.words, c[0]) || hasWord(s.norm, c[0]) {
				return true
			}
			continue
		}
		if containsSeq(s.norm, c) || containsSeq(s.words, c) {
			return true
		}
	}
	return false
}

// matchesProgram reports whether one of an allow rule's commands names the
// program the sub-command runs: the first word after the prefixes (sudo,
// env …) are looked through, compared by basename, followed by the rest of
// the command's words. An allow rule must not be satisfied by a word later
// in the line (touch x ls is not ls).
func (cr *compiledRule) matchesProgram(s *subject) bool {
	for _, c := range cr.commands {
		if len(s.norm) >= len(c) && containsSeq(s.norm[:len(c)], c) {
			return true
		}
	}
	return false
}

// hasWord reports whether ws holds w or a path whose last element is w.
func hasWord(ws []string, w string) bool {
	for _, x := range ws {
		if x == w || basename(x) == w {
			return true
		}
	}
	return false
}

// containsSeq reports whether seq appears in ws; the first word is compared
// by basename.
func containsSeq(ws, seq []string) bool {
	for i := 0; i+len(seq) <= len(ws); i++ {
		if ws[i] != seq[0] && basename(ws[i]) != seq[0] {
			continue
		}
		ok := true
		for k := 1; k < len(seq); k++ {
			if ws[i+k] != seq[k] {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// message is the line shown to the user.
func message(v Verdict) string {
	if v.Rule == nil {
		return ""
	}
	cmd := v.SubCommand
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	switch v.Action {
	case Deny:
		return fmt.Sprintf("jms: command %q denied by filter %q", cmd, v.Rule.Name)
	case Review:
		return fmt.Sprintf("jms: command %q needs approval (filter %q); waiting, Ctrl-C cancels", cmd, v.Rule.Name)
	case Warn:
		return fmt.Sprintf("jms: command %q flagged by filter %q", cmd, v.Rule.Name)
	}
	return ""
}
