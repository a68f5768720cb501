package main

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/jms-bastion/jms/store"
)

// inOrg is one row of a listing of org-owned rows with the organization
// it came from, for rows whose own struct does not say it: JSON and YAML
// get an "org" field beside the row's own, tables and CSV an ORG column
// (see withOrgColumn).
type inOrg[T any] struct {
	Org  string `json:"org" yaml:"org"`
	Item T      `yaml:",inline"`
}

// MarshalJSON writes the row's own object with "org" first.
func (r inOrg[T]) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.Item)
	if err != nil || len(b) < 2 || b[0] != '{' {
		return b, err
	}
	out := []byte(`{"org":` + strconv.Quote(r.Org))
	if !bytes.Equal(b, []byte("{}")) {
		out = append(out, ',')
	}
	return append(out, b[1:]...), nil
}

// inOrgs lists rows with list in the view's organization or, with
// --all-orgs, in each organization in turn (by name), each row with the
// name of its organization.
func inOrgs[T any](ctx context.Context, a *app, s *store.Store, list func(*store.Store) ([]T, error)) ([]inOrg[T], error) {
	if _, one := s.ScopeOrg(); one {
		items, err := list(s)
		return tagOrg(items, a.orgName), err
	}
	orgs, err := allOrgs(ctx, s)
	if err != nil {
		return nil, err
	}
	out := []inOrg[T]{}
	for _, o := range orgs {
		items, err := list(s.InOrg(o.ID))
		if err != nil {
			return nil, err
		}
		out = append(out, tagOrg(items, o.Name)...)
	}
	return out, nil
}

// allOrgs is every organization by name, then the removed ones (whose
// history stays) as "NAME (removed)".
func allOrgs(ctx context.Context, s *store.Store) ([]store.Org, error) {
	orgs, err := s.ListOrgs(ctx, "")
	if err != nil {
		return nil, err
	}
	removed, err := s.RemovedOrgIDs(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range removed {
		o, err := s.GetOrgByID(ctx, id)
		if err != nil {
			return nil, err
		}
		o.Name += " (removed)"
		orgs = append(orgs, o)
	}
	return orgs, nil
}

func tagOrg[T any](items []T, org string) []inOrg[T] {
	out := make([]inOrg[T], len(items))
	for i, it := range items {
		out[i] = inOrg[T]{Org: org, Item: it}
	}
	return out
}

// renderInOrgs renders rows listed by inOrgs with the columns of their
// own type; a type that names its organization itself (store.Asset) is
// rendered as it is.
func renderInOrgs[T any](l listing, rows []inOrg[T], cols []column[T]) error {
	if _, own := orgField(reflect.ValueOf(*new(T))); own {
		return render(l, untag(rows), cols)
	}
	wrapped := make([]column[inOrg[T]], len(cols))
	for i, c := range cols {
		wrapped[i] = column[inOrg[T]]{c.name, func(r inOrg[T]) string { return c.value(r.Item) }}
	}
	return render(l, rows, wrapped)
}
