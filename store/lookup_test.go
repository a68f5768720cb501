package store

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func lookupList() []Access {
	acc := func(id int64, name, addr string) Access {
		return Access{Asset: Asset{ID: id, Name: name, Address: addr}}
	}
	return []Access{acc(1, "web1", "10.0.0.5"), acc(2, "web2", "10.0.0.5"), acc(3, "db1", "10.0.0.9"),
		acc(4, "db2", "10.0.0.7"), acc(5, "db3", "10.0.0.7"), acc(6, "cache", "10.0.0.7")}
}

func TestLookupAccess(t *testing.T) {
	list := lookupList()
	tests := []struct {
		ref  string
		want string // the asset's name, or the error's text
	}{
		{"web1", "web1"},
		{"10.0.0.9", "db1"},
		{"10.0.0.5", "10.0.0.5 is the address of web1 and web2: name one"},
		{"10.0.0.7", "10.0.0.7 is the address of cache, db2 and db3: name one"},
		{"#3", "db1"},
		{"3", "db1"},
		{"10.0.0.6", `asset "10.0.0.6": not found`},
		{"", `asset "": not found`},
	}
	for _, tt := range tests {
		a, err := LookupAccess(list, tt.ref)
		got := a.Asset.Name
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("LookupAccess(%q) = %q, want %q", tt.ref, got, tt.want)
		}
	}
	_, err := LookupAccess(list, "10.0.0.5")
	var amb *AmbiguousAddressError
	if !errors.As(err, &amb) || len(amb.Names) != 2 {
		t.Errorf("an address of two assets: %v", err)
	}
	if _, err := LookupAccess(list, "nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no asset: %v", err)
	}
}

// FuzzLookupAccess: whatever the reference, LookupAccess does not panic,
// returns one of the person's assets that the reference names (name,
// address or id), or an error, never both.
func FuzzLookupAccess(f *testing.F) {
	for _, s := range []string{"web1", "10.0.0.5", "10.0.0.7", "#3", "3", "", "#", "#-1", "WEB1", "10.0.0.5 "} {
		f.Add(s)
	}
	list := lookupList()
	f.Fuzz(func(t *testing.T, ref string) {
		a, err := LookupAccess(list, ref)
		if err != nil {
			if a.Asset.ID != 0 {
				t.Fatalf("%q: an asset and an error", ref)
			}
			var amb *AmbiguousAddressError
			if errors.As(err, &amb) && len(amb.Names) < 2 {
				t.Fatalf("%q: ambiguous among %v", ref, amb.Names)
			}
			return
		}
		id := strings.TrimPrefix(ref, "#")
		if a.Asset.Name != ref && !strings.EqualFold(a.Asset.Address, ref) && id != strconv.FormatInt(a.Asset.ID, 10) {
			if n, perr := strconv.ParseInt(id, 10, 64); perr != nil || n != a.Asset.ID {
				t.Fatalf("%q named %+v", ref, a.Asset)
			}
		}
	})
}
