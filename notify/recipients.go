package notify

import (
	"context"
	"errors"
	"sort"

	"github.com/jms-bastion/jms/store"
)

// recipients resolves who gets n's mail: its default users and roles,
// plus those a rule turns on (or to digest), minus those a rule turns
// off, and only
// those with an address. For one person the most specific rule wins: hers
// for the event, hers for every event, her role's for the event, her
// role's for every event.
// recipient is a person to mail, and whether in her digest.
type recipient struct {
	store.Recipient
	digest bool
}

func (p *Pump) recipients(ctx context.Context, n notice, rules []store.NotifyRule) ([]recipient, error) {
	cand := map[string]store.Recipient{}
	addUser := func(name string) error {
		if name == "" {
			return nil
		}
		r, err := p.st.GetRecipient(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil // gone or disabled: nobody to tell
		}
		if err != nil {
			return err
		}
		cand[r.Name] = r
		return nil
	}
	addRole := func(role string) error {
		rs, err := p.st.UsersWithRole(ctx, role)
		for _, r := range rs {
			cand[r.Name] = r
		}
		return err
	}
	for _, u := range n.users {
		if err := addUser(u); err != nil {
			return nil, err
		}
	}
	for _, role := range n.roles {
		if err := addRole(role); err != nil {
			return nil, err
		}
	}
	for _, r := range rules {
		if r.Mode == store.NotifyOff || (r.Event != n.event && r.Event != "*") {
			continue
		}
		var err error
		if r.SubjectKind == "user" {
			err = addUser(r.Subject)
		} else {
			err = addRole(r.Subject)
		}
		if err != nil {
			return nil, err
		}
	}
	var out []recipient
	for _, r := range cand {
		mode := ruleMode(rules, n.event, r)
		if r.Email != "" && mode != store.NotifyOff {
			out = append(out, recipient{r, mode == store.NotifyDigest})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ruleMode is the mode of the most specific rule for r and event, "" for none.
func ruleMode(rules []store.NotifyRule, event string, r store.Recipient) string {
	best, rank := "", 99
	for _, rule := range rules {
		k := -1
		switch {
		case rule.SubjectKind == "user" && rule.Subject == r.Name && rule.Event == event:
			k = 0
		case rule.SubjectKind == "user" && rule.Subject == r.Name && rule.Event == "*":
			k = 1
		case rule.SubjectKind == "role" && rule.Subject == r.Role && rule.Event == event:
			k = 2
		case rule.SubjectKind == "role" && rule.Subject == r.Role && rule.Event == "*":
			k = 3
		}
		if k >= 0 && k < rank {
			best, rank = rule.Mode, k
		}
	}
	return best
}
