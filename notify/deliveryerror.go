package notify

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/textproto"
	"os"
	"strings"

	gomail "github.com/wneessen/go-mail"

	"github.com/jms-bastion/jms/store"
)

// The steps of a delivery that can fail, named in a DeliveryError.
const (
	StepConfig    = "settings"
	StepDNS       = "DNS"
	StepTCP       = "TCP"
	StepTLS       = "TLS"
	StepAuth      = "AUTH"
	StepSMTP      = "SMTP"
	StepSender    = "sender rejected"
	StepRecipient = "recipient rejected"
	StepHTTP      = "HTTP"
)

// DeliveryError says which step of a delivery failed and why, in one
// line: "TLS: x509: certificate signed by unknown authority".
type DeliveryError struct {
	Step string
	Err  error
}

func (e *DeliveryError) Error() string { return e.Step + ": " + oneLine(e.Err.Error()) }
func (e *DeliveryError) Unwrap() error { return e.Err }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// classifyDial names the step of connecting (DNS, TCP, TLS, AUTH) that
// err comes from. The dialer's errors name theirs already.
func classifyDial(s store.MailSettings, err error) error {
	addr := Addr(s)
	var de *DeliveryError
	var tpErr *textproto.Error
	switch {
	case errors.As(err, &de):
		return de
	case isTLSError(err), strings.Contains(err.Error(), "STARTTLS"):
		return classifyTLS(addr, err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return &DeliveryError{StepSMTP, fmt.Errorf("%s stopped answering within %s (an SMTPS port? it takes --ssl): %w", addr, mailTimeout, err)}
	case errors.As(err, &tpErr) && (tpErr.Code == 535 || tpErr.Code == 534 || tpErr.Code == 530 || tpErr.Code == 454),
		strings.Contains(err.Error(), "authentication"):
		return &DeliveryError{StepAuth, fmt.Errorf("%s refused the login of %q: %w", addr, s.Username, err)}
	}
	return &DeliveryError{StepSMTP, fmt.Errorf("%s: %w", addr, err)}
}

func isTLSError(err error) bool {
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	return errors.As(err, &certErr) || errors.As(err, &recErr) || errors.As(err, &alert) ||
		strings.HasPrefix(err.Error(), "tls:")
}

// classifyTLS says what went wrong in a TLS handshake, the certificate
// problem first.
func classifyTLS(addr string, err error) error {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &unknownCA):
		return &DeliveryError{StepTLS, fmt.Errorf("the certificate of %s is signed by an unknown authority (a private CA? give it with --ca-file): %w", addr, err)}
	case errors.As(err, &hostErr):
		return &DeliveryError{StepTLS, fmt.Errorf("the certificate of %s is not valid for that name: %w", addr, err)}
	case errors.As(err, &invalid):
		return &DeliveryError{StepTLS, fmt.Errorf("the certificate of %s is invalid (expired or not for a server?): %w", addr, err)}
	case errors.As(err, &certErr):
		return &DeliveryError{StepTLS, fmt.Errorf("the certificate of %s is not trusted: %w", addr, err)}
	case errors.As(err, &recErr), errors.Is(err, os.ErrDeadlineExceeded):
		return &DeliveryError{StepTLS, fmt.Errorf("%s did not answer TLS (port 587 and 25 take --starttls, 465 --ssl): %w", addr, err)}
	}
	return &DeliveryError{StepTLS, fmt.Errorf("%s: %w", addr, err)}
}

// classifySend names the step of sending (sender, recipient, data) that
// err comes from.
func classifySend(to string, err error) error {
	var se *gomail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case gomail.ErrSMTPRcptTo:
			return &DeliveryError{StepRecipient, fmt.Errorf("%s: %w", to, err)}
		case gomail.ErrSMTPMailFrom:
			return &DeliveryError{StepSender, err}
		}
	}
	return &DeliveryError{StepSMTP, err}
}
