package main

// commandRoles is the role each command of the tree needs (see
// permission.go), by its path under jmsctl. TestEveryCommandHasARole
// fails for a command missing here, so that a new one cannot be
// forgotten; a noun (a command with subcommands) only prints its help.
var commandRoles = map[string]string{
	// Running the bastion: the host's own, or the system's.
	"init": roleLocal, "serve": roleLocal,
	"db copy": roleLocal, "db migrate": roleLocal, "db status": roleLocal,
	"secret rekey": roleLocal, "secret status": roleLocal,
	"server list":   roleAdmin,
	"settings show": roleAdmin, "settings mail set": roleAdmin, "settings mail test": roleAdmin,
	"notify test": roleAdmin, "notify outbox": roleAdmin, "notify outbox retry": roleAdmin,
	"notify rule list": roleAdmin, "notify rule rm": roleAdmin, "notify rule set": roleAdmin,
	"notify webhook add": roleAdmin, "notify webhook list": roleAdmin, "notify webhook rm": roleAdmin,
	"version": roleUser,

	// Organizations: the list is a person's own; a member's role is her
	// org-admins' to give.
	"org add": roleAdmin, "org rm": roleAdmin, "org rename": roleAdmin,
	"org list": roleUser, "org show": roleOrgAdmin,
	"org members add": roleOrgAdmin, "org members rm": roleOrgAdmin, "org members list": roleOrgAdmin,

	// People are global: system admins only.
	"user add": roleAdmin, "user disable": roleAdmin, "user enable": roleAdmin,
	"user export": roleAdmin, "user import": roleAdmin, "user invite": roleAdmin,
	"user key add": roleAdmin, "user key list": roleAdmin, "user key rm": roleAdmin,
	"user list": roleAdmin, "user lock": roleAdmin, "user locks": roleAdmin,
	"user mfa disable": roleAdmin, "user mfa enable": roleAdmin, "user mfa recovery": roleAdmin,
	"user passwd": roleAdmin, "user rm": roleAdmin, "user set": roleAdmin,
	"user show": roleAdmin, "user unlock": roleAdmin,

	// Self-service.
	"me": roleUser, "me assets": roleUser, "me keys": roleUser, "me keys add": roleUser,
	"me keys rm": roleUser, "me mfa": roleUser, "me passwd": roleUser, "me sessions": roleUser,

	// An organization's inventory.
	"group add": roleOrgAdmin, "group list": roleOrgAdmin, "group rm": roleOrgAdmin,
	"group set": roleOrgAdmin, "group show": roleOrgAdmin,
	"group members add": roleOrgAdmin, "group members rm": roleOrgAdmin,
	"asset add": roleOrgAdmin, "asset disable": roleOrgAdmin, "asset enable": roleOrgAdmin,
	"asset export": roleOrgAdmin, "asset import": roleOrgAdmin, "asset list": roleOrgAdmin,
	"asset move": roleOrgAdmin, "asset rm": roleOrgAdmin, "asset set": roleOrgAdmin,
	"asset show": roleOrgAdmin, "asset test": roleOrgAdmin, "asset trust": roleOrgAdmin,
	"asset who-can": roleOrgAdmin,
	"node list":     roleOrgAdmin, "node prune": roleOrgAdmin,
	"account add": roleOrgAdmin, "account discover": roleOrgAdmin, "account list": roleOrgAdmin,
	"account passwd": roleOrgAdmin, "account push": roleOrgAdmin, "account rm": roleOrgAdmin,
	"account rotate": roleOrgAdmin, "account set": roleOrgAdmin, "account show": roleOrgAdmin,
	"account verify":       roleOrgAdmin,
	"account template add": roleOrgAdmin, "account template list": roleOrgAdmin, "account template rm": roleOrgAdmin,
	"job list": roleOrgAdmin,

	// An organization's access rules and tickets.
	"grant add": roleOrgAdmin, "grant disable": roleOrgAdmin, "grant enable": roleOrgAdmin,
	"grant explain": roleOrgAdmin, "grant list": roleOrgAdmin, "grant rm": roleOrgAdmin,
	"grant set": roleOrgAdmin, "grant show": roleOrgAdmin,
	"filter add": roleOrgAdmin, "filter disable": roleOrgAdmin, "filter enable": roleOrgAdmin,
	"filter list": roleOrgAdmin, "filter rm": roleOrgAdmin, "filter set": roleOrgAdmin,
	"filter show": roleOrgAdmin,
	"acl add":     roleOrgAdmin, "acl disable": roleOrgAdmin, "acl enable": roleOrgAdmin,
	"acl list": roleOrgAdmin, "acl rm": roleOrgAdmin, "acl set": roleOrgAdmin, "acl show": roleOrgAdmin,
	"ticket approve": roleOrgAdmin, "ticket list": roleOrgAdmin, "ticket reject": roleOrgAdmin,

	// An organization's sessions and audit; logins belong to no
	// organization (one login for all of a person's), storage to the system.
	"session kill": roleOrgAuditor, "session list": roleOrgAuditor,
	"session show": roleOrgAuditor, "session watch": roleOrgAuditor,
	"replay":        roleOrgAuditor,
	"recording get": roleOrgAuditor, "recording verify": roleOrgAuditor,
	"recording status": roleAdmin, "recording prune": roleAdmin,
	"audit commands": roleOrgAuditor, "audit transfers": roleOrgAuditor,
	"audit operations": roleOrgAuditor, "audit logins": roleAuditor,
}
