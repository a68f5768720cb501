package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/jms-bastion/jms/store"
)

// Mail is one message: a plain-text body and, when not empty, an HTML
// alternative.
type Mail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
}

// mailTimeout bounds one delivery: connect, TLS, AUTH and the message.
const mailTimeout = 20 * time.Second

// SendMail delivers m through the server of settings and returns the
// server's answer to the message ("250 2.0.0 Ok: queued as …"). Its
// error is a *DeliveryError that names the step that failed.
func SendMail(ctx context.Context, settings store.MailSettings, m Mail) (string, error) {
	msg, err := buildMessage(settings.From, m)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, mailTimeout)
	defer cancel()
	// go-mail heeds ctx while dialing only: close the connection when
	// ctx ends (serve stopping, the timeout), so that nothing waits on a
	// server that stopped answering.
	var conn connHolder
	stop := context.AfterFunc(ctx, conn.close)
	defer stop()
	client, err := newClient(settings, &conn)
	if err != nil {
		return "", err
	}
	if err := client.DialWithContext(ctx); err != nil {
		return "", classifyDial(settings, err)
	}
	defer client.Close()
	if err := client.Send(msg); err != nil {
		return "", classifySend(m.To, err)
	}
	return msg.ServerResponse(), nil
}

func buildMessage(from string, m Mail) (*gomail.Msg, error) {
	if _, err := mail.ParseAddress(m.To); err != nil {
		return nil, &DeliveryError{Step: StepRecipient, Err: fmt.Errorf("address %q: %w", m.To, err)}
	}
	msg := gomail.NewMsg()
	if err := msg.From(from); err != nil {
		return nil, &DeliveryError{Step: StepSender, Err: fmt.Errorf("from %q: %w", from, err)}
	}
	if err := msg.To(m.To); err != nil {
		return nil, &DeliveryError{Step: StepRecipient, Err: fmt.Errorf("address %q: %w", m.To, err)}
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

func newClient(s store.MailSettings, held *connHolder) (*gomail.Client, error) {
	tlsConf, err := tlsConfig(s)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{
		gomail.WithPort(s.Port),
		gomail.WithTimeout(mailTimeout),
		gomail.WithTLSConfig(tlsConf),
		gomail.WithDialContextFunc(dialer(s, tlsConf, held)),
	}
	switch s.Security {
	case store.MailSTARTTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default: // implicit TLS is done by the dialer
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.Username != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&passwordAuth{user: s.Username, pass: string(s.Password), host: s.Host}))
	}
	c, err := gomail.NewClient(s.Host, opts...)
	if err != nil {
		return nil, &DeliveryError{Step: StepConfig, Err: err}
	}
	return c, nil
}

// dialer connects step by step, so that a failure names its step (DNS,
// TCP, TLS), and bounds the whole SMTP conversation by mailTimeout: a
// server that stops answering mid-way cannot hold a delivery.
func dialer(s store.MailSettings, conf *tls.Config, held *connHolder) gomail.DialContextFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if net.ParseIP(s.Host) == nil {
			if _, err := net.DefaultResolver.LookupHost(ctx, s.Host); err != nil {
				return nil, &DeliveryError{StepDNS, fmt.Errorf("cannot resolve %s: %w", s.Host, err)}
			}
		}
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) {
				err = op.Err
			}
			return nil, &DeliveryError{StepTCP, fmt.Errorf("cannot connect to %s: %w", addr, err)}
		}
		_ = conn.SetDeadline(time.Now().Add(mailTimeout))
		held.set(conn)
		if s.Security != store.MailSSL {
			return conn, nil
		}
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, classifyTLS(addr, err)
		}
		return tc, nil
	}
}

// tlsConfig verifies the server against the system's CAs plus those of
// the mail settings (a private CA).
func tlsConfig(s store.MailSettings) (*tls.Config, error) {
	conf := &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
	if s.CAPEM == "" {
		return conf, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM([]byte(s.CAPEM)) {
		return nil, &DeliveryError{Step: StepConfig, Err: errors.New("the mail CA file holds no PEM certificate")}
	}
	conf.RootCAs = pool
	return conf, nil
}

// ParseCAFile checks that pem holds at least one certificate.
func ParseCAFile(pem []byte) error {
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return errors.New("no PEM certificate in it")
	}
	return nil
}

// Addr is host:port of the settings, for messages.
func Addr(s store.MailSettings) string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ParseAddress checks one mail address ("a@example.com" or
// "Alice <a@example.com>") and returns it in its canonical form.
func ParseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("not a mail address: %w", err)
	}
	return a.String(), nil
}

// connHolder holds the connection of a delivery, for closing it when the
// delivery's context ends.
type connHolder struct {
	mu     sync.Mutex
	conn   net.Conn
	closed bool
}

func (h *connHolder) set(c net.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		c.Close()
		return
	}
	h.conn = c
}

func (h *connHolder) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.conn != nil {
		h.conn.Close()
	}
}
