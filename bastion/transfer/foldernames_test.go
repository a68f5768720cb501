package transfer

import (
	"slices"
	"testing"

	"github.com/jms-bastion/jms/store"
)

// TestFolderNamesAcrossOrgs: an asset name that assets of two of her
// organizations have becomes two folders, each prefixed with its org;
// other names stay as they are.
func TestFolderNamesAcrossOrgs(t *testing.T) {
	acc := func(id int64, org, name string, users ...string) store.Access {
		a := store.Access{Org: org, Asset: store.Asset{ID: id, Name: name}}
		for _, u := range users {
			a.Accounts = append(a.Accounts, store.GrantedAccount{Account: store.Account{Username: u}, Actions: store.DefaultActions})
		}
		return a
	}
	got := folderNames([]store.Access{acc(1, "team-a", "web1", "root"), acc(2, "team-b", "web1", "root", "deploy"),
		acc(3, "team-b", "db9", "postgres")})
	var names []string
	for n, f := range got {
		names = append(names, n)
		if n == "team-a:web1" && f.asset.ID != 1 || n == "db9" && f.asset.ID != 3 {
			t.Errorf("%s is asset #%d", n, f.asset.ID)
		}
	}
	slices.Sort(names)
	want := []string{"db9", "team-a:web1", "team-b:web1@deploy", "team-b:web1@root"}
	if !slices.Equal(names, want) {
		t.Errorf("folders %v, want %v", names, want)
	}
}
