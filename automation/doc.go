// Package automation manages accounts on assets through each asset's
// privileged account: it pushes the accounts of templates (useradd or
// usermod, the password through chpasswd on stdin, the public key into
// authorized_keys, a sudoers drop-in checked by visudo), verifies stored
// secrets by logging in with them, rotates them, discovers the local
// accounts of an asset, and runs rotations as scheduled jobs.
//
// Every command sent to an asset is built from an argument list whose
// parts were validated (validate.go) and are quoted for the remote
// shell; secrets travel only on the SSH channel's stdin, never in a
// command line, an environment variable, a log line or an error.
package automation
