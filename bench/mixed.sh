#!/usr/bin/env bash
# Runs the mixed concurrent IMAP workload (letterbox vs Dovecot) from the
# repository root; the same as ./bench/run.sh -workload mixed.
# Flags go to the Go program: -quick, -rounds, -duration, -clients,
# -messages, -ops, -seed, -size, -argon2, -profile, -letterbox-bin, -only, -keep.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench -workload mixed "$@"
