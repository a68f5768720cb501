package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// ImportAsset is one asset of an import file.
type ImportAsset struct {
	// At says where the row is in the file ("line 3", "item 2"); every
	// error about the row starts with it.
	At string `json:"-" yaml:"-"`
	// Present names the fields the row gives; nil means all of them. On
	// an update (--upsert) the fields it does not give keep their value.
	Present map[string]bool `json:"-" yaml:"-"`
	NewAsset
}

// ImportUser is one person of an import file. Passwords are never
// imported: a new user logs in by key, or an admin sets her password.
type ImportUser struct {
	At      string          `json:"-" yaml:"-"`
	Present map[string]bool `json:"-" yaml:"-"`
	Name    string          `json:"name" yaml:"name"`
	Email   string          `json:"email" yaml:"email"`
	Role    string          `json:"role" yaml:"role"`
	Groups  []string        `json:"groups" yaml:"groups"`
	Keys    []string        `json:"keys" yaml:"keys"` // authorized_keys lines
	Comment string          `json:"comment" yaml:"comment"`
}

// ImportOptions tune an import.
type ImportOptions struct {
	DryRun bool   // work out what would change, change nothing
	Upsert bool   // update rows whose name exists instead of failing
	Source string // the file name, for the audit
}

// ImportResult says what an import changed (or would change).
type ImportResult struct {
	Added         []string `json:"added" yaml:"added"`
	Updated       []string `json:"updated" yaml:"updated"`
	Unchanged     []string `json:"unchanged" yaml:"unchanged"`
	GroupsCreated []string `json:"groups_created,omitempty" yaml:"groups_created,omitempty"`
	// Changes holds, per updated name, the fields the update changes
	// (or would change, on a dry run).
	Changes map[string]map[string]FieldChange `json:"changes" yaml:"changes"`
}

// FieldChange is one field an import changes: its value before and
// after, as text (lists comma-separated and sorted, keys by fingerprint).
type FieldChange struct {
	From string `json:"from" yaml:"from"`
	To   string `json:"to" yaml:"to"`
}

// fieldChanges collects the fields whose value differs.
type fieldChanges map[string]FieldChange

func (c fieldChanges) diff(field, from, to string) {
	if from != to {
		c[field] = FieldChange{From: from, To: to}
	}
}

// assetChanges returns the fields of cur that next changes.
func assetChanges(cur, next NewAsset) map[string]FieldChange {
	c := fieldChanges{}
	c.diff("address", cur.Address, next.Address)
	c.diff("port", strconv.Itoa(cur.Port), strconv.Itoa(next.Port))
	c.diff("platform", cur.Platform, next.Platform)
	c.diff("node", cur.Node, next.Node)
	c.diff("labels", labelText(cur.Labels), labelText(next.Labels))
	c.diff("comment", cur.Comment, next.Comment)
	return c
}

// labelText is labels as sorted k=v pairs, ";"-separated (as asset show and CSV write them).
func labelText(labels map[string]string) string {
	pairs := make([]string, 0, len(labels))
	for _, k := range sortedKeys(labels) {
		pairs = append(pairs, k+"="+labels[k])
	}
	return strings.Join(pairs, ";")
}

// userChanges returns the fields of cur that the row r with keys changes.
func userChanges(r ImportUser, keys []parsedKey, cur *existingUser) map[string]FieldChange {
	c := fieldChanges{}
	c.diff("email", cur.email, r.Email)
	c.diff("role", cur.role, r.Role)
	c.diff("groups", strings.Join(sortedCopy(cur.groups), ","), strings.Join(sortedCopy(dedupe(r.Groups)), ","))
	fps := make([]string, 0, len(keys))
	for _, k := range keys {
		fps = append(fps, k.fingerprint)
	}
	c.diff("keys", strings.Join(sortedCopy(slices.Collect(maps.Keys(cur.keys))), ","), strings.Join(sortedCopy(fps), ","))
	c.diff("comment", cur.comment, r.Comment)
	return c
}

// RowError is an import error about one row: "line 3: address: required".
type RowError struct {
	At  string
	Err error
}

func (e *RowError) Error() string { return e.At + ": " + e.Err.Error() }
func (e *RowError) Unwrap() error { return e.Err }

func rowErr(at string, err error) error {
	if at == "" {
		return err
	}
	return &RowError{At: at, Err: err}
}

func (r ImportAsset) has(field string) bool { return r.Present == nil || r.Present[field] }
func (r ImportUser) has(field string) bool  { return r.Present == nil || r.Present[field] }

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

// prepare makes a statement on q (a *sql.Tx inside withTx).
func prepare(ctx context.Context, q querier, query string) (*sql.Stmt, error) {
	p, ok := q.(preparer)
	if !ok {
		return nil, errors.New("store: querier cannot prepare statements")
	}
	st, err := p.PrepareContext(ctx, query)
	return st, wrapError(err)
}

type existingAsset struct {
	id int64
	NewAsset
}

// ImportAssets adds (and with Upsert updates) assets in one
// transaction: any bad row fails the whole import and nothing changes.
func (s *Store) ImportAssets(ctx context.Context, rows []ImportAsset, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Added: []string{}, Updated: []string{}, Unchanged: []string{}, Changes: map[string]map[string]FieldChange{}}
	if _, err := s.writeOrg(); err != nil {
		return res, err
	}
	seen := make(map[string]string, len(rows))
	for i := range rows {
		r := &rows[i]
		if r.Name == "" {
			return res, rowErr(r.At, &FieldError{"name", errors.New("required")})
		}
		if err := ValidAssetName(r.Name); err != nil {
			return res, rowErr(r.At, &FieldError{"name", err})
		}
		if prev, ok := seen[r.Name]; ok {
			return res, rowErr(r.At, &FieldError{"name", fmt.Errorf("%q is also on %s", r.Name, prev)})
		}
		seen[r.Name] = r.At
		if r.At == "" {
			seen[r.Name] = "an earlier row"
		}
	}
	err := s.withTx(ctx, func(q querier) error {
		existing, err := s.loadAssetsForImport(ctx, q)
		if err != nil {
			return err
		}
		type change struct {
			row *ImportAsset
			id  int64 // 0: add
		}
		var changes []change
		for i := range rows {
			r := &rows[i]
			cur, ok := existing[r.Name]
			if ok && opts.Upsert {
				fillAbsentAsset(r, cur.NewAsset)
			}
			if err := r.Normalize(); err != nil {
				return rowErr(r.At, err)
			}
			if !ok {
				res.Added = append(res.Added, r.Name)
				changes = append(changes, change{row: r})
				continue
			}
			if !opts.Upsert {
				return rowErr(r.At, &FieldError{"name", conflict(nil, "asset %q already exists (use --upsert to update it)", r.Name)})
			}
			if sameAsset(r.NewAsset, cur.NewAsset) {
				res.Unchanged = append(res.Unchanged, r.Name)
				continue
			}
			res.Updated = append(res.Updated, r.Name)
			res.Changes[r.Name] = assetChanges(cur.NewAsset, r.NewAsset)
			changes = append(changes, change{row: r, id: cur.id})
		}
		if opts.DryRun || len(changes) == 0 {
			return nil
		}
		now := formatTime(s.now())
		nodes, err := s.newNodeCache(ctx, q, now)
		if err != nil {
			return err
		}
		upd, err := prepare(ctx, q, `UPDATE assets SET address = ?, port = ?, platform = ?, node_id = ?, comment = ?, updated_at = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		delLabels, err := prepare(ctx, q, `DELETE FROM asset_labels WHERE asset_id = ?`)
		if err != nil {
			return err
		}
		defer delLabels.Close()
		var adds []newAssetRow
		for _, c := range changes {
			r := c.row
			node, err := nodes.id(r.Node)
			if err != nil {
				return rowErr(r.At, &FieldError{"node", err})
			}
			if c.id == 0 {
				adds = append(adds, newAssetRow{row: r, node: node})
				continue
			}
			if _, err := upd.ExecContext(ctx, r.Address, r.Port, r.Platform, node, r.Comment, now, c.id); err != nil {
				return rowErr(r.At, wrapError(err))
			}
			if _, err := delLabels.ExecContext(ctx, c.id); err != nil {
				return rowErr(r.At, wrapError(err))
			}
		}
		added, err := s.insertAssets(ctx, q, adds, now)
		if err != nil {
			return err
		}
		var labels [][3]any
		for _, c := range changes {
			id := c.id
			if id == 0 {
				id = added[c.row.Name]
			}
			for _, k := range sortedKeys(c.row.Labels) {
				labels = append(labels, [3]any{id, k, c.row.Labels[k]})
			}
		}
		if err := insertLabelRows(ctx, q, labels); err != nil {
			return err
		}
		return s.recordOp(ctx, q, "asset.import", opts.Source, map[string]any{
			"added": res.Added, "updated": res.Updated, "unchanged": len(res.Unchanged), "changes": res.Changes})
	})
	return res, err
}

func (s *Store) loadAssetsForImport(ctx context.Context, q querier) (map[string]*existingAsset, error) {
	rows, err := q.QueryContext(ctx, `SELECT a.id, a.name, a.address, a.port, a.platform, COALESCE(n.path, ''), a.comment`+assetFrom+
		` WHERE `+s.orgCond("a"))
	if err != nil {
		return nil, wrapError(err)
	}
	out := map[string]*existingAsset{}
	byID := map[int64]*existingAsset{}
	for rows.Next() {
		e := &existingAsset{}
		if err := rows.Scan(&e.id, &e.Name, &e.Address, &e.Port, &e.Platform, &e.Node, &e.Comment); err != nil {
			rows.Close()
			return nil, wrapError(err)
		}
		e.Labels = map[string]string{}
		out[e.Name], byID[e.id] = e, e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrapError(err)
	}
	lrows, err := q.QueryContext(ctx, `SELECT l.asset_id, l.key, l.value FROM asset_labels l JOIN assets a ON a.id = l.asset_id WHERE `+s.orgCond("a"))
	if err != nil {
		return nil, wrapError(err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var id int64
		var k, v string
		if err := lrows.Scan(&id, &k, &v); err != nil {
			return nil, wrapError(err)
		}
		if e, ok := byID[id]; ok {
			e.Labels[k] = v
		}
	}
	return out, wrapError(lrows.Err())
}

func fillAbsentAsset(r *ImportAsset, cur NewAsset) {
	if !r.has("address") {
		r.Address = cur.Address
	}
	if !r.has("port") {
		r.Port = cur.Port
	}
	if !r.has("platform") {
		r.Platform = cur.Platform
	}
	if !r.has("node") {
		r.Node = cur.Node
	}
	if !r.has("labels") {
		r.Labels = maps.Clone(cur.Labels)
	}
	if !r.has("comment") {
		r.Comment = cur.Comment
	}
}

func sameAsset(a, b NewAsset) bool {
	return a.Address == b.Address && a.Port == b.Port && a.Platform == b.Platform && a.Node == b.Node &&
		a.Comment == b.Comment && len(a.Labels) == len(b.Labels) && maps.Equal(a.Labels, b.Labels)
}

// nodeCache finds or makes node ids once per path.
type nodeCache struct {
	s   *Store
	ctx context.Context
	q   querier
	now string
	ids map[string]int64
}

func (s *Store) newNodeCache(ctx context.Context, q querier, now string) (*nodeCache, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, path FROM nodes n WHERE `+s.orgCond("n"))
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	c := &nodeCache{s: s, ctx: ctx, q: q, now: now, ids: map[string]int64{}}
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, wrapError(err)
		}
		c.ids[p] = id
	}
	return c, wrapError(rows.Err())
}

// id returns the node id for a clean path, nil for the root.
func (c *nodeCache) id(p string) (any, error) {
	if p == "" {
		return nil, nil
	}
	if id, ok := c.ids[p]; ok {
		return id, nil
	}
	id, err := c.s.ensureNode(c.ctx, c.q, p, c.now)
	if err != nil {
		return nil, err
	}
	c.ids[p] = id
	return id, nil
}

// ExportAssets returns every asset as an import row, sorted by name:
// what `asset export` writes and `asset import` reads back.
func (s *Store) ExportAssets(ctx context.Context) ([]NewAsset, error) {
	assets, err := s.ListAssets(ctx, AssetQuery{})
	if err != nil {
		return nil, err
	}
	out := make([]NewAsset, len(assets))
	for i, a := range assets {
		out[i] = NewAsset{Name: a.Name, Address: a.Address, Port: a.Port, Platform: a.Platform, Node: a.Node,
			Labels: a.Labels, Comment: a.Comment}
	}
	return out, nil
}

// normalize fills defaults and checks a user row; the error is a
// *FieldError. Keys come back parsed.
func (r *ImportUser) normalize() ([]parsedKey, error) {
	if r.Name == "" {
		return nil, &FieldError{"name", errors.New("required")}
	}
	if err := ValidName("user", r.Name); err != nil {
		return nil, &FieldError{"name", err}
	}
	r.Email = strings.TrimSpace(r.Email)
	if r.Email != "" && (!strings.Contains(r.Email, "@") || strings.ContainsAny(r.Email, " \t\r\n,;")) {
		return nil, &FieldError{"email", fmt.Errorf("%q is not an email address", r.Email)}
	}
	if r.Role == "" {
		r.Role = RoleUser
	}
	if err := ValidRole(r.Role); err != nil {
		return nil, &FieldError{"role", err}
	}
	r.Groups = dedupe(r.Groups)
	for _, g := range r.Groups {
		if err := ValidName("group", g); err != nil {
			return nil, &FieldError{"groups", err}
		}
	}
	slices.Sort(r.Groups)
	var keys []parsedKey
	seen := map[string]bool{}
	for i, line := range r.Keys {
		k, err := ParseAuthorizedKey(line)
		if err != nil {
			return nil, &FieldError{"keys", fmt.Errorf("key %d: %w", i+1, err)}
		}
		if !seen[k.fingerprint] {
			seen[k.fingerprint] = true
			keys = append(keys, k)
		}
	}
	return keys, nil
}

type existingUser struct {
	id      int64
	email   string
	role    string
	comment string
	groups  []string
	keys    map[string]string // fingerprint → line
}

// ImportUsers adds (and with Upsert updates) people in one transaction:
// their email, role, groups (made when missing) and public keys. Any bad
// row fails the whole import and nothing changes. An update makes the
// user's groups and keys exactly those of the row; the fields a row does
// not give keep their value.
func (s *Store) ImportUsers(ctx context.Context, rows []ImportUser, opts ImportOptions) (ImportResult, error) {
	res := ImportResult{Added: []string{}, Updated: []string{}, Unchanged: []string{}, Changes: map[string]map[string]FieldChange{}}
	org, err := s.writeOrg()
	if err != nil {
		return res, err
	}
	parsed, err := checkUserRows(rows)
	if err != nil {
		return res, err
	}
	err = s.withTx(ctx, func(q querier) error {
		existing, owners, err := s.loadUsersForImport(ctx, q)
		if err != nil {
			return err
		}
		groups, err := s.loadGroupIDs(ctx, q)
		if err != nil {
			return err
		}
		changes, err := planUsers(rows, parsed, existing, owners, groups, opts, &res)
		if err != nil || opts.DryRun || len(changes) == 0 {
			return err
		}
		now := formatTime(s.now())
		for _, g := range res.GroupsCreated {
			id, err := s.insertGroup(ctx, q, g, "made by user import", now)
			if err != nil {
				return err
			}
			groups[g] = id
		}
		for _, c := range changes {
			if err := s.writeUser(ctx, q, org, c, groups, now); err != nil {
				return rowErr(c.row.At, err)
			}
		}
		return s.recordOp(ctx, q, "user.import", opts.Source, map[string]any{
			"added": res.Added, "updated": res.Updated, "unchanged": len(res.Unchanged), "groups_created": res.GroupsCreated,
			"changes": res.Changes})
	})
	return res, err
}

// checkUserRows normalizes every row and returns their parsed keys. A name
// or a key may be on one row only.
func checkUserRows(rows []ImportUser) ([][]parsedKey, error) {
	parsed := make([][]parsedKey, len(rows))
	seen := map[string]string{}  // name → At of the row that has it
	keyAt := map[string]string{} // fingerprint → At of the row that has it
	for i := range rows {
		r := &rows[i]
		keys, err := r.normalize()
		if err != nil {
			return nil, rowErr(r.At, err)
		}
		if prev, ok := seen[r.Name]; ok {
			return nil, rowErr(r.At, &FieldError{"name", fmt.Errorf("%q is also on %s", r.Name, prev)})
		}
		seen[r.Name] = r.At
		for _, k := range keys {
			if prev, ok := keyAt[k.fingerprint]; ok {
				return nil, rowErr(r.At, &FieldError{"keys", fmt.Errorf("key %s is also on %s (a key belongs to one user)", k.fingerprint, prev)})
			}
			keyAt[k.fingerprint] = r.At
		}
		parsed[i] = keys
	}
	return parsed, nil
}

// loadGroupIDs returns the id of every group of the scope by name.
func (s *Store) loadGroupIDs(ctx context.Context, q querier) (map[string]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name FROM groups g WHERE `+s.orgCond("g"))
	if err != nil {
		return nil, wrapError(err)
	}
	defer rows.Close()
	groups := map[string]int64{}
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			return nil, wrapError(err)
		}
		groups[n] = id
	}
	return groups, wrapError(rows.Err())
}

// userChange is a user row to write: cur is nil for a new user.
type userChange struct {
	row  *ImportUser
	keys []parsedKey
	cur  *existingUser
}

// planUsers sorts the rows into res (added, updated, unchanged, the groups
// to make) and returns those to write. Rows of existing users are
// completed with their current values (fillAbsentUser) first.
func planUsers(rows []ImportUser, parsed [][]parsedKey, existing map[string]*existingUser, owners map[string]string,
	groups map[string]int64, opts ImportOptions, res *ImportResult) ([]userChange, error) {
	var changes []userChange
	newGroups := map[string]bool{}
	for i := range rows {
		r := &rows[i]
		cur := existing[r.Name]
		if cur != nil && !opts.Upsert {
			return nil, rowErr(r.At, &FieldError{"name", conflict(nil, "user %q already exists (use --upsert to update it)", r.Name)})
		}
		if cur != nil {
			keys, err := fillAbsentUser(r, parsed[i], cur)
			if err != nil {
				return nil, rowErr(r.At, err)
			}
			parsed[i] = keys
		}
		for _, k := range parsed[i] {
			if owner, ok := owners[k.fingerprint]; ok && owner != r.Name {
				return nil, rowErr(r.At, &FieldError{"keys", conflict(nil, "key %s belongs to user %q (a key belongs to one user)", k.fingerprint, owner)})
			}
		}
		for _, g := range r.Groups {
			if _, ok := groups[g]; !ok && !newGroups[g] {
				newGroups[g] = true
				res.GroupsCreated = append(res.GroupsCreated, g)
			}
		}
		switch {
		case cur == nil:
			res.Added = append(res.Added, r.Name)
		case sameUser(*r, parsed[i], cur):
			res.Unchanged = append(res.Unchanged, r.Name)
			continue
		default:
			res.Updated = append(res.Updated, r.Name)
			res.Changes[r.Name] = userChanges(*r, parsed[i], cur)
		}
		changes = append(changes, userChange{row: r, keys: parsed[i], cur: cur})
	}
	slices.Sort(res.GroupsCreated)
	return changes, nil
}

// fillAbsentUser gives the fields the row of an existing user leaves out
// their current values, and returns the row's keys.
func fillAbsentUser(r *ImportUser, keys []parsedKey, cur *existingUser) ([]parsedKey, error) {
	if !r.has("keys") {
		r.Keys, keys = nil, nil
		for _, line := range cur.keys {
			k, err := ParseAuthorizedKey(line)
			if err != nil {
				return nil, &FieldError{"keys", err}
			}
			keys = append(keys, k)
			r.Keys = append(r.Keys, line)
		}
	}
	if !r.has("email") {
		r.Email = cur.email
	}
	if !r.has("role") {
		r.Role = cur.role
	}
	if !r.has("groups") {
		r.Groups = cur.groups
	}
	if !r.has("comment") {
		r.Comment = cur.comment
	}
	return keys, nil
}

// writeUser adds or updates one user: her row, her membership of the
// organization org (a new member is a user; a member keeps her role),
// and her groups (of org) and keys made exactly those of the import row.
func (s *Store) writeUser(ctx context.Context, q querier, org int64, c userChange, groups map[string]int64, now string) error {
	r := c.row
	var id int64
	if c.cur == nil {
		err := q.QueryRowContext(ctx, `INSERT INTO users (name, email, role, comment, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, r.Name, r.Email, r.Role, r.Comment, now, now).Scan(&id)
		if err != nil {
			return nameTaken(err, "user", r.Name)
		}
	} else {
		id = c.cur.id
		if err := s.clearUserForImport(ctx, q, c, now); err != nil {
			return err
		}
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO org_members (org_id, user_id, role, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, user_id) DO NOTHING`, org, id, RoleOrgUser, now); err != nil {
		return wrapError(err)
	}
	for _, g := range r.Groups {
		if _, err := q.ExecContext(ctx, `INSERT INTO group_members (group_id, user_id) VALUES (?, ?)`, groups[g], id); err != nil {
			return wrapError(err)
		}
	}
	for _, k := range c.keys {
		if c.cur != nil {
			if _, ok := c.cur.keys[k.fingerprint]; ok {
				continue // kept, with its date and comment
			}
		}
		if err := insertKey(ctx, q, id, k, now); err != nil {
			return err
		}
	}
	return nil
}

// clearUserForImport updates an existing user's row, drops her from her
// groups of the scope's organization and removes the keys the import row
// does not have.
func (s *Store) clearUserForImport(ctx context.Context, q querier, c userChange, now string) error {
	r, id := c.row, c.cur.id
	if _, err := q.ExecContext(ctx, `UPDATE users SET email = ?, role = ?, comment = ?, updated_at = ? WHERE id = ?`,
		r.Email, r.Role, r.Comment, now, id); err != nil {
		return wrapError(err)
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM group_members WHERE user_id = ?
		AND group_id IN (SELECT g.id FROM groups g WHERE `+s.orgCond("g")+`)`, id); err != nil {
		return wrapError(err)
	}
	want := map[string]bool{}
	for _, k := range c.keys {
		want[k.fingerprint] = true
	}
	for fp := range c.cur.keys {
		if !want[fp] {
			if _, err := q.ExecContext(ctx, `DELETE FROM user_keys WHERE fingerprint = ?`, fp); err != nil {
				return wrapError(err)
			}
		}
	}
	return nil
}

func (s *Store) loadUsersForImport(ctx context.Context, q querier) (map[string]*existingUser, map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, email, role, comment FROM users`)
	if err != nil {
		return nil, nil, wrapError(err)
	}
	users := map[string]*existingUser{}
	byID := map[int64]*existingUser{}
	names := map[int64]string{}
	for rows.Next() {
		u := &existingUser{keys: map[string]string{}, groups: []string{}}
		var name string
		if err := rows.Scan(&u.id, &name, &u.email, &u.role, &u.comment); err != nil {
			rows.Close()
			return nil, nil, wrapError(err)
		}
		users[name], byID[u.id], names[u.id] = u, u, name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, wrapError(err)
	}
	mrows, err := q.QueryContext(ctx, `SELECT m.user_id, g.name FROM group_members m JOIN groups g ON g.id = m.group_id
		WHERE `+s.orgCond("g")+` ORDER BY g.name`)
	if err != nil {
		return nil, nil, wrapError(err)
	}
	for mrows.Next() {
		var id int64
		var g string
		if err := mrows.Scan(&id, &g); err != nil {
			mrows.Close()
			return nil, nil, wrapError(err)
		}
		if u, ok := byID[id]; ok {
			u.groups = append(u.groups, g)
		}
	}
	mrows.Close()
	if err := mrows.Err(); err != nil {
		return nil, nil, wrapError(err)
	}
	owners := map[string]string{}
	krows, err := q.QueryContext(ctx, `SELECT user_id, fingerprint, public_key, comment FROM user_keys`)
	if err != nil {
		return nil, nil, wrapError(err)
	}
	defer krows.Close()
	for krows.Next() {
		var id int64
		var fp, line, comment string
		if err := krows.Scan(&id, &fp, &line, &comment); err != nil {
			return nil, nil, wrapError(err)
		}
		if comment != "" {
			line += " " + comment
		}
		if u, ok := byID[id]; ok {
			u.keys[fp] = line
		}
		owners[fp] = names[id]
	}
	return users, owners, wrapError(krows.Err())
}

func sameUser(r ImportUser, keys []parsedKey, cur *existingUser) bool {
	if r.Email != cur.email || r.Role != cur.role || r.Comment != cur.comment ||
		!slices.Equal(sortedCopy(r.Groups), sortedCopy(cur.groups)) || len(keys) != len(cur.keys) {
		return false
	}
	for _, k := range keys {
		if _, ok := cur.keys[k.fingerprint]; !ok {
			return false
		}
	}
	return true
}

// ExportUsers returns every person as an import row, sorted by name:
// what `user export` writes and `user import` reads back. Password
// hashes and MFA seeds are never exported.
func (s *Store) ExportUsers(ctx context.Context) ([]ImportUser, error) {
	users, err := s.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := s.ListUserKeys(ctx, "")
	if err != nil {
		return nil, err
	}
	byUser := map[string][]string{}
	for _, k := range keys {
		line := k.PublicKey
		if k.Comment != "" {
			line += " " + k.Comment
		}
		byUser[k.User] = append(byUser[k.User], line)
	}
	out := make([]ImportUser, len(users))
	for i, u := range users {
		out[i] = ImportUser{Name: u.Name, Email: u.Email, Role: u.Role, Groups: u.Groups, Keys: byUser[u.Name], Comment: u.Comment}
		if out[i].Keys == nil {
			out[i].Keys = []string{}
		}
	}
	return out, nil
}
