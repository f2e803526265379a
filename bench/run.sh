#!/usr/bin/env bash
# Runs the letterbox vs Dovecot benchmark from the repository root.
# Needs Dovecot (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd);
# ./scripts/install-deps.sh installs it when run as root.
# Flags go to the Go program: -n, -c, -mailbox, -size, -repeats, -only, -keep;
# -workload mixed (bench/mixed.sh) or -workload reads (bench/reads.sh) and theirs.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench "$@"
