# jms — make targets. `make run` starts the bastion on ./jms-data,
# `make test` runs every test with the race detector.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
DATA_DIR ?= ./jms-data
LISTEN   ?= :2222
PKGS     := ./...

.PHONY: test-postgres bench-store
.PHONY: all build run test test-short bench bench-all bench-go bench-ssh bench-sftp bench-logins lint fmt tidy cover clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/jmsctl ./cmd/jmsctl

run: build
	./bin/jmsctl serve --data-dir $(DATA_DIR) --listen $(LISTEN)

# End-to-end tests need ssh, sshd, sshpass, tmux and asciinema; they skip
# without them unless JMS_E2E=1 (as in CI), where they must run.
test:
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Figures and method: docs/performance.md.
# >>> bench: one table of ratios against ProxyJump and direct sftp (scripts/bench-ssh.sh, as root)
bench: bench-ssh

bench-all: bench-go bench bench-logins
# <<< bench

BENCHTIME ?= 1s
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $$($(GO) list $(PKGS) | grep -v /e2e)

# Side-by-side with OpenSSH ProxyJump and direct sftp on this machine (needs sshd and ssh, as root).
bench-ssh: build
	./scripts/bench-ssh.sh

bench-sftp:
	./scripts/bench-sftp.sh

# RSS a burst of 100 password logins leaves in a fresh serve (no root needed).
bench-logins: build
	./scripts/bench-logins.sh

# --- PostgreSQL (issue 13): the store's tests and benchmarks on a local
# PostgreSQL (started, or installed, by scripts/ensure-postgres.sh).
test-postgres:
	JMS_TEST_POSTGRES="$${JMS_TEST_POSTGRES:-$$(./scripts/ensure-postgres.sh)}" $(GO) test -race -count=1 ./store

bench-store:
	JMS_TEST_POSTGRES="$${JMS_TEST_POSTGRES:-$$(./scripts/ensure-postgres.sh)}" $(GO) test -run '^$$' -bench 'AuthorizedAssets10k|AuthorizedAsset10k|Import10k' -benchmem -benchtime $(BENCHTIME) ./store
# --- end PostgreSQL

# --- h-memory: idle memory per session and 1,000 sessions (docs/performance.md) ---
.PHONY: bench-idle bench-load
# RSS per idle proxied session, 100 and 1,000 open (needs sshd and root).
bench-idle:
	./scripts/bench-idle.sh
# 1,000 concurrent sessions: open time, RSS, CPU, new-login p99, rows and recordings checked.
bench-load:
	./scripts/bench-load.sh
# --- end h-memory ---

lint:
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

tidy:
	$(GO) mod tidy

cover:
	$(GO) test -count=1 -coverprofile=coverage.out $(PKGS)
	$(GO) tool cover -func=coverage.out | tail -1

clean:
	rm -rf bin coverage.out

# --- recordings in object storage (issue 14): the proxy's throughput while an upload runs
.PHONY: bench-recordings
bench-recordings: build
	./scripts/bench-recordings.sh
# --- end of recordings in object storage

# --- h-rolling: 200 concurrent logins over two nodes on PostgreSQL (issue 13, docs/performance.md) ---
.PHONY: bench-cluster-logins
bench-cluster-logins: build
	./scripts/bench-cluster-logins.sh
# --- end h-rolling

# --- h-dbbench: forwarded mysql/psql clients through the bastion against direct (issue 18, docs/performance.md) ---
.PHONY: bench-db
# 10,000 small queries per client: direct, ssh -L to a plain asset, ssh -L to the database asset.
bench-db: build
	./scripts/bench-db.sh
# --- end h-dbbench
