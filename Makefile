.PHONY: run test bench bench-go build

# Runs a node on this machine with embedded defaults; anyone on loopback may publish.
run:
	go run ./cmd/onair serve --dev

# The whole test suite (installs Chromium and ffmpeg through apt when missing).
test:
	scripts/test

# The standard media load scenario: a pinned server, one 2 Mbit/s publisher and
# 50, 100, 200 viewers through onairctl bench (see scripts/bench).
bench:
	scripts/bench

# Hot-path benchmarks.
bench-go:
	go test -run XXX -bench . -benchmem ./sfu/

build:
	go build -o onair ./cmd/onair
	go build -o onairctl ./cmd/onairctl
