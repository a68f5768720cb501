package automation

// Status is the outcome of one account on one asset.
type Status string

// The result vocabulary shared by push, verify, rotate and discover.
const (
	StatusOK              Status = "ok"                   // already as wanted; nothing changed
	StatusChanged         Status = "changed"              // changed and proven by a fresh login
	StatusUnreachable     Status = "unreachable"          // no connection to the asset
	StatusAuthFailed      Status = "auth-failed"          // the asset refused a login
	StatusHostKeyMismatch Status = "host-key-mismatch"    // the asset's key is not the pinned one
	StatusUnsupported     Status = "unsupported-platform" // not a Linux jms knows
	StatusFailed          Status = "failed"               // a step failed; Detail says which and why
)

// Result is one row of a push, verify or rotate.
type Result struct {
	Asset    string `json:"asset" yaml:"asset"`
	Account  string `json:"account" yaml:"account"`
	Template string `json:"template,omitempty" yaml:"template,omitempty"`
	Status   Status `json:"status" yaml:"status"`
	// Detail is the first line of the failing command's stderr, or what
	// changed; never a secret.
	Detail string `json:"detail,omitempty" yaml:"detail,omitempty"`
	// Commands are what a dry run would run, secrets redacted.
	Commands []string `json:"commands,omitempty" yaml:"commands,omitempty"`
}

// Failed reports whether the row is a failure of any kind.
func (r Result) Failed() bool { return r.Status != StatusOK && r.Status != StatusChanged }

// Summary is the status as a result table shows it: "failed: <why>".
func (r Result) Summary() string {
	if r.Status == StatusFailed && r.Detail != "" {
		return string(r.Status) + ": " + r.Detail
	}
	return string(r.Status)
}

// AnyFailed reports whether any row failed.
func AnyFailed(rs []Result) bool {
	for _, r := range rs {
		if r.Failed() {
			return true
		}
	}
	return false
}
