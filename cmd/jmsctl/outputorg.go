package main

import "reflect"

// Listings of org-owned rows (assets, grants, sessions …) say which
// organization they show: JSON and YAML always hold each row's org (the
// store's structs carry it); tables and CSV get an ORG column first with
// --all-orgs and with -o wide. In one organization's table the column
// would repeat the --org the admin chose, so it is left out.

// withOrgColumn puts an org column first when the listing shows it and
// T carries an organization (a string field Org).
func withOrgColumn[T any](l listing, cols []column[T]) []column[T] {
	if !l.showOrg || len(cols) == 0 || cols[0].name == "org" {
		return cols
	}
	var zero T
	if _, ok := orgField(reflect.ValueOf(zero)); !ok {
		return cols
	}
	org := column[T]{"org", func(x T) string { return fieldOrg(x) }}
	return append([]column[T]{org}, cols...)
}

// fieldOrg is the Org field of v (a struct or a pointer to one), "" when
// it has none.
func fieldOrg(v any) string {
	s, _ := orgField(reflect.ValueOf(v))
	return s
}

func orgField(v reflect.Value) (string, bool) {
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "", false
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", false
	}
	f := v.FieldByName("Org")
	if !f.IsValid() || f.Kind() != reflect.String {
		return "", false
	}
	return f.String(), true
}
