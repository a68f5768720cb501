package bastion

import (
	"io"
	"net"
	"testing"

	gossh "golang.org/x/crypto/ssh"
)

// BenchmarkCipher moves bytes over an SSH channel on loopback with each
// of the server's ciphers, to order them: x/crypto's chacha20-poly1305
// has no amd64 assembly, AES-GCM uses AES-NI.
func BenchmarkCipher(b *testing.B) {
	for _, cipher := range defaultCiphers {
		b.Run(cipher, func(b *testing.B) {
			hostKey := newSigner(b)
			scfg := &gossh.ServerConfig{NoClientAuth: true, Config: gossh.Config{Ciphers: []string{cipher}}}
			scfg.AddHostKey(hostKey)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_, chans, reqs, err := gossh.NewServerConn(c, scfg)
				if err != nil {
					return
				}
				go gossh.DiscardRequests(reqs)
				for nc := range chans {
					ch, creqs, err := nc.Accept()
					if err != nil {
						return
					}
					go gossh.DiscardRequests(creqs)
					go func() { _, _ = io.Copy(io.Discard, ch); ch.Close() }()
				}
			}()
			client, err := gossh.Dial("tcp", l.Addr().String(), &gossh.ClientConfig{User: "x",
				HostKeyCallback: gossh.InsecureIgnoreHostKey(), Config: gossh.Config{Ciphers: []string{cipher}}})
			if err != nil {
				b.Fatal(err)
			}
			defer client.Close()
			ch, reqs, err := client.OpenChannel("session", nil)
			if err != nil {
				b.Fatal(err)
			}
			go gossh.DiscardRequests(reqs)
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ch.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			ch.Close()
		})
	}
}
