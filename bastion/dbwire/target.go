package dbwire

import (
	"context"
	"fmt"
	"time"

	"github.com/jms-bastion/jms/bastion/database"
	"github.com/jms-bastion/jms/store"
)

// Store is what the package reads and writes.
type Store interface {
	GetAssetDatabase(ctx context.Context, assetID int64) (store.AssetDatabase, error)
	AccountSecret(ctx context.Context, id int64) (store.Account, store.Secret, error)
	SQLFiltersFor(ctx context.Context, user string, assetID int64, account string) ([]store.Filter, error)
	AddCommandEvent(ctx context.Context, e store.CommandEvent) (int64, error)
	AddTicket(ctx context.Context, nt store.NewTicket) (store.Ticket, error)
	TicketStatus(ctx context.Context, id int64) (store.TicketDecision, error)
	CancelTicket(ctx context.Context, id int64, why string) (store.Ticket, error)
}

// Target is the database target of the account with id accountID on the
// database asset a: its address, the account's user and stored password,
// the asset's database and TLS settings. timeout bounds the login (0: the
// engine's default).
func Target(ctx context.Context, st Store, a store.Asset, accountID int64, timeout time.Duration) (database.Target, error) {
	if !store.IsDatabasePlatform(a.Platform) {
		return database.Target{}, fmt.Errorf("asset %s has platform %s: set its platform to mysql or postgresql (jmsctl asset set %s --platform mysql) to reach it as a database",
			a.Name, a.Platform, a.Name)
	}
	engine, err := database.ParseEngine(a.Platform)
	if err != nil {
		return database.Target{}, err
	}
	settings, err := st.GetAssetDatabase(ctx, a.ID)
	if err != nil {
		return database.Target{}, fmt.Errorf("reading the database settings of %s: %w", a.Name, err)
	}
	acc, secret, err := st.AccountSecret(ctx, accountID)
	if err != nil {
		return database.Target{}, err
	}
	if acc.SecretKind == store.SecretKey {
		return database.Target{}, fmt.Errorf("account %s@%s holds a key: a database account needs a password (jmsctl account passwd %s %s --password-stdin)",
			acc.Username, a.Name, a.Name, acc.Username)
	}
	t := database.Target{
		Engine: engine, Address: a.Address, Port: a.Port,
		User: acc.Username, Password: string(secret), Database: settings.Database,
		TLS:            database.TLS{Mode: database.TLSMode(settings.TLSMode), CAFile: settings.TLSCAFile},
		ConnectTimeout: timeout,
	}
	if err := t.Validate(); err != nil {
		return database.Target{}, fmt.Errorf("asset %s: %w", a.Name, err)
	}
	return t, nil
}
