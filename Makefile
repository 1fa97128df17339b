.PHONY: run test bench build

# Runs a node on this machine with embedded defaults; anyone on loopback may publish.
run:
	go run ./cmd/onair serve --dev

# The whole test suite (installs Chromium and ffmpeg through apt when missing).
test:
	scripts/test

# Hot-path benchmarks.
bench:
	go test -run XXX -bench . -benchmem ./sfu/

build:
	go build -o onair ./cmd/onair
	go build -o onairctl ./cmd/onairctl
