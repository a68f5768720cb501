package store

import (
	"context"
	"fmt"
	"strings"
)

// orgMemberIDs returns the ids of the users named, in order, refusing
// an unknown user and naming those who are not members of the
// organization org (what: the group or grant that would hold them).
func orgMemberIDs(ctx context.Context, q querier, org int64, what string, users []string) ([]int64, error) {
	ids := make([]int64, len(users))
	var outsiders []string
	for i, u := range users {
		var member bool
		err := q.QueryRowContext(ctx, `SELECT u.id, EXISTS (SELECT 1 FROM org_members m WHERE m.user_id = u.id AND m.org_id = ?)
			FROM users u WHERE u.name = ?`, org, u).Scan(&ids[i], &member)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", u, wrapError(err))
		}
		if !member {
			outsiders = append(outsiders, u)
		}
	}
	if len(outsiders) == 0 {
		return ids, nil
	}
	var name string
	if err := q.QueryRowContext(ctx, `SELECT name FROM orgs WHERE id = ?`, org).Scan(&name); err != nil {
		return nil, wrapError(err)
	}
	who, verb, fix := outsiders[0], "is not a member", "make "+outsiders[0]+" a member first"
	if len(outsiders) > 1 {
		who, verb, fix = strings.Join(outsiders, ", "), "are not members", "make them members first"
	}
	return nil, conflict(nil, "%s %s of organization %q: %s holds members of its organization only; %s",
		who, verb, name, what, fix)
}
