// Command rate reads its standard input to the end and prints how many
// bytes came, the microseconds from its start to the end, and the
// microseconds from the first byte to the end. In a pipeline it starts with
// the command that feeds it, so the first time includes the connection's
// setup and the second is the transfer alone:
//
//	ssh host 'head -c 300M /dev/zero' | go run ./scripts/rate
//
// scripts/bench-ssh.sh uses it for throughput.
package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

func main() {
	start := time.Now()
	buf := make([]byte, 256<<10)
	var (
		n     int64
		first time.Time
	)
	for {
		k, err := os.Stdin.Read(buf)
		if k > 0 {
			if n == 0 {
				first = time.Now()
			}
			n += int64(k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "rate:", err)
			os.Exit(1)
		}
	}
	end := time.Now()
	if n == 0 {
		first = end
	}
	fmt.Println(n, end.Sub(start).Microseconds(), end.Sub(first).Microseconds())
}
