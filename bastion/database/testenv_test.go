package database

import (
	"testing"

	"github.com/jms-bastion/jms/bastion/database/dbtest"
)

// The tests that need servers get them from dbtest (JMS_TEST_MYSQL,
// JMS_TEST_POSTGRES).

func toTarget(s dbtest.Server) Target {
	return Target{Engine: Engine(s.Engine), Address: s.Host, Port: s.Port, User: s.User, Password: s.Password, Database: s.Database}
}

// adminTarget returns the admin account of the engine's test server.
func adminTarget(t *testing.T, e Engine) Target { return toTarget(dbtest.Admin(t, string(e))) }

// fixture makes a fresh database and an account that owns it.
func fixture(t *testing.T, e Engine) Target { return toTarget(dbtest.Fixture(t, string(e))) }

func randomName(t *testing.T) string { return dbtest.Name(t) }

// engines runs f once per engine as a subtest.
func engines(t *testing.T, f func(t *testing.T, e Engine)) {
	for _, e := range []Engine{MySQL, PostgreSQL} {
		t.Run(string(e), func(t *testing.T) { f(t, e) })
	}
}
