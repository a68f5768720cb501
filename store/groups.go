package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Group is a set of people that grants and filters can name at once.
type Group struct {
	ID        int64     `json:"id" yaml:"id"`
	Name      string    `json:"name" yaml:"name"`
	OrgID     int64     `json:"org_id" yaml:"org_id"`
	Comment   string    `json:"comment" yaml:"comment"`
	Members   []string  `json:"members" yaml:"members"`
	CreatedAt time.Time `json:"created_at" yaml:"created_at"`
}

// AddGroup makes an empty group.
func (s *Store) AddGroup(ctx context.Context, name, comment string) (Group, error) {
	if err := ValidName("group", name); err != nil {
		return Group{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		if _, err := s.insertGroup(ctx, q, name, comment, formatTime(s.now())); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "group.add", name, map[string]any{"comment": comment})
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, name)
}

func (s *Store) insertGroup(ctx context.Context, q querier, name, comment, now string) (int64, error) {
	org, err := s.writeOrg()
	if err != nil {
		return 0, err
	}
	var id int64
	err = q.QueryRowContext(ctx, `INSERT INTO groups (org_id, name, comment, created_at) VALUES (?, ?, ?, ?) RETURNING id`,
		org, name, comment, now).Scan(&id)
	if err != nil {
		return 0, nameTaken(err, "group", name)
	}
	return id, nil
}

// RemoveGroup deletes the groups called names, all or none, in one
// transaction.
func (s *Store) RemoveGroup(ctx context.Context, names ...string) error {
	return s.removeNamed(ctx, "group", "groups", "group.rm", names)
}

// GetGroup returns the group called name with its members.
func (s *Store) GetGroup(ctx context.Context, name string) (Group, error) {
	var g Group
	var created string
	err := s.db.QueryRowContext(ctx, `SELECT id, name, org_id, comment, created_at FROM groups g WHERE name = ? AND `+s.orgCond("g"), name).
		Scan(&g.ID, &g.Name, &g.OrgID, &g.Comment, &created)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return g, fmt.Errorf("group %q: %w", name, ErrNotFound)
	} else if err != nil {
		return g, err
	}
	g.CreatedAt = parseTime(created)
	g.Members, err = s.groupMembers(ctx, g.ID)
	return g, err
}

func (s *Store) groupMembers(ctx context.Context, groupID int64) ([]string, error) {
	return queryNames(ctx, s.db, `SELECT u.name FROM users u JOIN group_members m ON m.user_id = u.id
		WHERE m.group_id = ? ORDER BY u.name`, groupID)
}

// ListGroups returns the scope's groups sorted by name, with their
// members.
func (s *Store) ListGroups(ctx context.Context) ([]Group, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, org_id, comment, created_at FROM groups g WHERE `+s.orgCond("g")+` ORDER BY name, org_id`)
	if err != nil {
		return nil, wrapError(err)
	}
	var out []Group
	byID := map[int64]int{}
	for rows.Next() {
		var g Group
		var created string
		if err := rows.Scan(&g.ID, &g.Name, &g.OrgID, &g.Comment, &created); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		g.CreatedAt = parseTime(created)
		g.Members = []string{}
		byID[g.ID] = len(out)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	mrows, err := s.db.QueryContext(ctx, `SELECT m.group_id, u.name FROM group_members m JOIN users u ON u.id = m.user_id ORDER BY u.name`)
	if err != nil {
		return nil, wrapError(err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var id int64
		var u string
		if err := mrows.Scan(&id, &u); err != nil {
			return nil, wrapError(err)
		}
		if i, ok := byID[id]; ok {
			out[i].Members = append(out[i].Members, u)
		}
	}
	return out, wrapError(mrows.Err())
}

// AddMembers puts users in a group, all or none: an unknown user, or
// one who is not a member of the group's organization, fails the whole
// change. Users already in the group are left as they are. It returns
// the users that were added.
func (s *Store) AddMembers(ctx context.Context, group string, users []string) ([]string, error) {
	org, err := s.writeOrg()
	if err != nil {
		return nil, err
	}
	var added []string
	err = s.withTx(ctx, func(q querier) error {
		gid, err := lookupID(ctx, q, "group", `SELECT id FROM groups g WHERE name = ? AND `+s.orgCond("g"), group)
		if err != nil {
			return err
		}
		users = dedupe(users)
		ids, err := orgMemberIDs(ctx, q, org, "group "+strconv.Quote(group), users)
		if err != nil {
			return err
		}
		for i, u := range users {
			uid := ids[i]
			res, err := q.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)
				ON CONFLICT (group_id, user_id) DO NOTHING`, gid, uid)
			if err != nil {
				return wrapError(err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				added = append(added, u)
			}
		}
		if len(added) == 0 {
			return nil
		}
		return s.recordOp(ctx, q, "group.members.add", group, map[string]any{"users": added})
	})
	if err != nil {
		return nil, err
	}
	return added, nil
}

// RemoveMembers takes users out of a group, all or none: a user who is
// not a member fails the whole change.
func (s *Store) RemoveMembers(ctx context.Context, group string, users []string) error {
	if _, err := s.writeOrg(); err != nil {
		return err
	}
	return s.withTx(ctx, func(q querier) error {
		gid, err := lookupID(ctx, q, "group", `SELECT id FROM groups g WHERE name = ? AND `+s.orgCond("g"), group)
		if err != nil {
			return err
		}
		users = dedupe(users)
		for _, u := range users {
			uid, err := lookupID(ctx, q, "user", `SELECT id FROM users WHERE name = ?`, u)
			if err != nil {
				return err
			}
			res, err := q.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = ? AND user_id = ?`, gid, uid)
			if err != nil {
				return wrapError(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("user %q is not a member of group %q: %w", u, group, ErrNotFound)
			}
		}
		return s.recordOp(ctx, q, "group.members.rm", group, map[string]any{"users": users})
	})
}

// lookupID runs a query returning one id; not found is "kind "name": not found".
func lookupID(ctx context.Context, q querier, kind, query, name string) (int64, error) {
	var id int64
	err := q.QueryRowContext(ctx, query, name).Scan(&id)
	if err = wrapError(err); errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("%s %q: %w", kind, name, ErrNotFound)
	}
	return id, err
}

// dedupe returns names without repeats, in their first order.
func dedupe(names []string) []string {
	seen := make(map[string]bool, len(names))
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// sortedCopy returns a sorted copy of s.
func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// GroupUpdate is a change to a group; nil fields keep their value.
type GroupUpdate struct {
	Name    *string // rename: members, grants, filters and login rules follow
	Comment *string
}

// UpdateGroup renames a group or changes its comment in one transaction.
// Grants and filters point at the group's row, so they follow a rename;
// login rules keep group names as text, so they are rewritten too.
func (s *Store) UpdateGroup(ctx context.Context, name string, gu GroupUpdate) (Group, error) {
	newName := name
	if gu.Name != nil {
		if err := ValidName("group", *gu.Name); err != nil {
			return Group{}, err
		}
		newName = *gu.Name
	}
	if _, err := s.writeOrg(); err != nil {
		return Group{}, err
	}
	err := s.withTx(ctx, func(q querier) error {
		cur, err := lookupID(ctx, q, "group", `SELECT id FROM groups g WHERE name = ? AND `+s.orgCond("g"), name)
		if err != nil {
			return err
		}
		detail := map[string]any{}
		if gu.Name != nil && newName != name {
			if _, err := q.ExecContext(ctx, `UPDATE groups SET name = ? WHERE id = ?`, newName, cur); err != nil {
				return nameTaken(err, "group", newName)
			}
			if err := s.renameRuleGroup(ctx, q, name, newName); err != nil {
				return err
			}
			detail["name"] = newName
		}
		if gu.Comment != nil {
			if _, err := q.ExecContext(ctx, `UPDATE groups SET comment = ? WHERE id = ?`, *gu.Comment, cur); err != nil {
				return wrapError(err)
			}
			detail["comment"] = *gu.Comment
		}
		return s.recordOp(ctx, q, "group.set", name, detail)
	})
	if err != nil {
		return Group{}, err
	}
	return s.GetGroup(ctx, newName)
}

// renameRuleGroup rewrites the group name from to to in every login
// rule of the scope's organization that names it (a rule names the
// groups of its own organization).
func (s *Store) renameRuleGroup(ctx context.Context, q querier, from, to string) error {
	rows, err := q.QueryContext(ctx, `SELECT id, groups FROM login_rules r WHERE `+s.orgCond("r"))
	if err != nil {
		return wrapError(err)
	}
	changed := map[int64]string{}
	for rows.Next() {
		var id int64
		var groups string
		if err := rows.Scan(&id, &groups); err != nil {
			rows.Close()
			return wrapError(err)
		}
		names := splitLines(groups)
		if i := slices.Index(names, from); i >= 0 {
			names[i] = to
			changed[id] = joinLines(dedupe(names))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return wrapError(err)
	}
	for id, groups := range changed {
		if _, err := q.ExecContext(ctx, `UPDATE login_rules SET groups = ? WHERE id = ?`, groups, id); err != nil {
			return wrapError(err)
		}
	}
	return nil
}
