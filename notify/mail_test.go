package notify

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/jms-bastion/jms/store"
)

// TestSendMailEndsWithItsContext: a server that accepts and never answers does not hold a
// delivery past its context (serve stopping).
func TestSendMailEndsWithItsContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := SendMail(ctx, store.MailSettings{Host: "127.0.0.1", Port: port, Security: store.MailNoTLS, From: "j@example.com"},
			Mail{To: "a@example.com", Subject: "s", Text: "t"})
		done <- err
	}()
	c := <-accepted // connected, waiting for a greeting that never comes
	defer c.Close()
	cancel()
	select {
	case err := <-done:
		var de *DeliveryError
		if !errors.As(err, &de) {
			t.Errorf("error %v, want a DeliveryError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendMail still waits 10 s after its context ended (its own timeout is " + strconv.Itoa(int(mailTimeout.Seconds())) + " s)")
	}
}

func TestSendMailRefusesBadAddresses(t *testing.T) {
	s := store.MailSettings{Host: "127.0.0.1", Port: 1, Security: store.MailNoTLS, From: "j@example.com"}
	for _, to := range []string{"", "not an address", "a@example.com\r\nBcc: x@evil.test"} {
		_, err := SendMail(context.Background(), s, Mail{To: to, Subject: "s", Text: "t"})
		var de *DeliveryError
		if !errors.As(err, &de) || de.Step != StepRecipient {
			t.Errorf("to %q: %v", to, err)
		}
	}
}
