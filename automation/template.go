package automation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jms-bastion/jms/store"
)

// CheckTemplate refuses a template whose values are not safe to run on
// an asset, before anything is stored or run.
func CheckTemplate(t store.AccountTemplate) error {
	if err := ValidUsername(t.Username); err != nil {
		return err
	}
	switch t.SecretPolicy {
	case store.PolicyGenerateKey, store.PolicyGeneratePassword, store.PolicyPassword, store.PolicyKey:
	default:
		return fmt.Errorf("unknown secret policy %q: use generate-key, generate-password, a password on stdin or --key FILE", t.SecretPolicy)
	}
	if err := ValidShell(t.Shell); err != nil {
		return err
	}
	for _, g := range t.Groups {
		if err := ValidGroup(g); err != nil {
			return err
		}
	}
	if _, err := ParseSudo(t.Sudo); err != nil {
		return err
	}
	if t.SecretKind() == store.SecretKey && !t.Home {
		return errors.New("a key account needs a home for its authorized_keys: add --home")
	}
	if t.RotateEvery < 0 {
		return errors.New("--rotate-every must be positive")
	}
	return nil
}

// AddTemplate checks and stores a template.
func AddTemplate(ctx context.Context, st *store.Store, nt store.NewAccountTemplate) (store.AccountTemplate, error) {
	if err := CheckTemplate(nt.AccountTemplate); err != nil {
		return store.AccountTemplate{}, err
	}
	if nt.SecretPolicy == store.PolicyPassword {
		if err := checkPassword(nt.Secret); err != nil {
			return store.AccountTemplate{}, err
		}
	}
	return st.AddTemplate(ctx, nt)
}

// covers reports whether a template on node tn applies to an asset on
// node an: the same node or one below it.
func covers(tn, an string) bool {
	return tn != "" && (an == tn || strings.HasPrefix(an, tn+"/"))
}
