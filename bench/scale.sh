#!/usr/bin/env bash
# Runs the scale workload (the reads of one mailbox at 10,000 and 100,000
# messages, letterbox with each store driver asked for, optionally
# Dovecot); the same as ./bench/run.sh -workload scale. Flags go to the Go
# program: -sizes, -letterbox-drivers, -postgres-dsn, -scale-dovecot,
# -attach-rate, -rounds, -c, -seed, -subject, -body, -argon2,
# -letterbox-bin, -letterbox-set, -profile, -keep. See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench -workload scale "$@"
