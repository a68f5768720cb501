package dbwire

import (
	"context"
	"fmt"
	"regexp"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/bastion/filter"
	"github.com/jms-bastion/jms/store"
)

// Rules turns the store's SQL filters into the engine's rules.
func Rules(fs []store.Filter) ([]database.Rule, error) {
	out := make([]database.Rule, 0, len(fs))
	for _, f := range fs {
		action, err := filter.ParseAction(f.Action)
		if err != nil {
			return nil, fmt.Errorf("filter %s: %w", f.Name, err)
		}
		r := database.Rule{ID: f.ID, Name: f.Name, Action: action, Priority: f.Priority, Statements: f.Statements}
		if f.Regex != "" {
			if r.Regex, err = regexp.Compile(f.Regex); err != nil {
				return nil, fmt.Errorf("filter %s: --regex: %w", f.Name, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}

// Judge is the judge of a session of user on the asset with id assetID
// as account: the SQL filters of the asset's organization that cover
// them, with review (nil: a statement a review filter holds is denied).
func Judge(ctx context.Context, st Store, user string, assetID int64, account string, review database.Reviewer) (database.Judge, error) {
	fs, err := st.SQLFiltersFor(ctx, user, assetID, account)
	if err != nil {
		return nil, fmt.Errorf("reading the statement filters: %w", err)
	}
	rules, err := Rules(fs)
	if err != nil {
		return nil, err
	}
	return database.RuleJudge{Rules: database.NewRuleSet(rules), Review: review}, nil
}
