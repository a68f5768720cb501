package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// This file holds the mail fixtures: a test CA and a real mailpit SMTP server, whose HTTP API
// says what arrived.

// mailpitPath finds mailpit in PATH or ~/go/bin; it skips (fails under JMS_E2E=1) when absent.
func mailpitPath(t testing.TB) string {
	t.Helper()
	if testing.Short() && !e2eRequired() {
		t.Skip("e2e: skipped with -short (set JMS_E2E=1 to run)")
	}
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	if home, err := os.UserHomeDir(); err == nil {
		p := filepath.Join(home, "go", "bin", "mailpit")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	msg := "e2e: missing mailpit (go install github.com/axllent/mailpit@latest)"
	if e2eRequired() {
		t.Fatal(msg + "; JMS_E2E is set, so this is a failure")
	}
	t.Skip(msg + "; set JMS_E2E=1 to make this a failure")
	return ""
}

// testCA is a CA made by the test and a server certificate it signed for 127.0.0.1 and
// localhost, as PEM files.
type testCA struct {
	CAFile, CertFile, KeyFile string
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jms e2e test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := testCA{filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(ca.CAFile, "CERTIFICATE", caDER)
	write(ca.CertFile, "CERTIFICATE", der)
	write(ca.KeyFile, "EC PRIVATE KEY", keyDER)
	return ca
}

// MailpitOptions tune startMailpit.
type MailpitOptions struct {
	TLS             *testCA // serve TLS with this CA's certificate
	RequireSTARTTLS bool
	RequireTLS      bool              // implicit TLS (SMTPS)
	Users           map[string]string // AUTH logins: name → password
	AllowedRcpt     string            // a regexp of the recipients accepted
	SMTPPort        int               // 0: a free port
}

// Mailpit is a mailpit process on loopback.
type Mailpit struct {
	SMTPPort int
	API      string // http://127.0.0.1:PORT

	t      testing.TB
	args   []string
	bin    string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

func startMailpit(t testing.TB, opts MailpitOptions) *Mailpit {
	t.Helper()
	m := &Mailpit{t: t, bin: mailpitPath(t), SMTPPort: opts.SMTPPort, log: &syncBuffer{}}
	if m.SMTPPort == 0 {
		m.SMTPPort = freePort(t)
	}
	httpPort := freePort(t)
	m.API = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	dir := t.TempDir()
	m.args = []string{"--smtp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(dir, "mailpit.db"), "--smtp-disable-rdns"}
	if opts.TLS != nil {
		m.args = append(m.args, "--smtp-tls-cert", opts.TLS.CertFile, "--smtp-tls-key", opts.TLS.KeyFile)
	}
	if opts.RequireSTARTTLS {
		m.args = append(m.args, "--smtp-require-starttls")
	}
	if opts.RequireTLS {
		m.args = append(m.args, "--smtp-require-tls")
	}
	if opts.AllowedRcpt != "" {
		m.args = append(m.args, "--smtp-allowed-recipients", opts.AllowedRcpt)
	}
	if len(opts.Users) > 0 {
		var lines []string
		for u, p := range opts.Users {
			h, err := bcrypt.GenerateFromPassword([]byte(p), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, u+":"+string(h))
		}
		authFile := filepath.Join(dir, "smtp-auth")
		if err := os.WriteFile(authFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		m.args = append(m.args, "--smtp-auth-file", authFile)
	}
	t.Cleanup(func() {
		m.Stop()
		if t.Failed() {
			t.Logf("mailpit log:\n%s", m.log.String())
		}
	})
	m.Start()
	return m
}

// Start starts mailpit (again, after Stop) and waits until its API answers.
func (m *Mailpit) Start() {
	m.t.Helper()
	cmd := exec.Command(m.bin, m.args...)
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("starting mailpit: %v", err)
	}
	m.cmd, m.exited = cmd, make(chan struct{})
	go func(c chan struct{}) { _ = cmd.Wait(); close(c) }(m.exited)
	ok := waitEvery(30*time.Second, 100*time.Millisecond, func() bool {
		select {
		case <-m.exited:
			return true
		default:
		}
		resp, err := http.Get(m.API + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.SMTPPort), time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return resp.StatusCode == http.StatusOK
	})
	select {
	case <-m.exited:
		m.t.Fatalf("mailpit exited at start:\n%s", m.log.String())
	default:
	}
	if !ok {
		m.t.Fatalf("mailpit did not get ready:\n%s", m.log.String())
	}
}

// Stop ends mailpit; safe to call twice.
func (m *Mailpit) Stop() {
	if m.cmd != nil {
		stopProcess(m.cmd, m.exited, 5*time.Second)
		m.cmd = nil
	}
}

// MailMessage is a message as mailpit's API gives it.
type MailMessage struct {
	ID      string
	Subject string
	From    struct{ Address string }
	To      []struct{ Address string }
	Text    string
	HTML    string
}

// Messages lists what arrived, newest first (without bodies).
func (m *Mailpit) Messages(t testing.TB) []MailMessage {
	t.Helper()
	var out struct{ Messages []MailMessage }
	m.getJSON(t, "/api/v1/messages", &out)
	return out.Messages
}

// Message returns one message with its text and HTML bodies.
func (m *Mailpit) Message(t testing.TB, id string) MailMessage {
	t.Helper()
	var out MailMessage
	m.getJSON(t, "/api/v1/message/"+id, &out)
	return out
}

// WaitMessage waits for a message to addr whose subject contains subject and returns it whole.
func (m *Mailpit) WaitMessage(t testing.TB, addr, subject string, timeout time.Duration) MailMessage {
	t.Helper()
	var found string
	ok := waitEvery(timeout, 200*time.Millisecond, func() bool {
		for _, msg := range m.Messages(t) {
			for _, to := range msg.To {
				if to.Address == addr && strings.Contains(msg.Subject, subject) {
					found = msg.ID
					return true
				}
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no mail to %s about %q arrived within %s", addr, subject, timeout)
	}
	return m.Message(t, found)
}

func (m *Mailpit) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mailpit API %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("mailpit API %s: %v", path, err)
	}
}

// waitEvery polls cond every interval until it is true or timeout passes: for conditions that
// cost a process or a request to check.
func waitEvery(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}

// readFile returns a file's bytes as a string (for a search of what must not be in it).
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
