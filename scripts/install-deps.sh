#!/usr/bin/env bash
# Installs the Debian packages the test suite and the benchmark use: the real
# mail clients the e2e tests drive, Dovecot for side-by-side comparison,
# PostgreSQL for the multi-node store driver and fail2ban for fail2ban-regex
# (e2e/fail2ban_test.go; on a host running systemd the package also starts
# its service, with Debian's sshd jail). Runs apt-get only as root and
# only when something is missing; otherwise it says what is missing and
# returns (tests for a missing client then skip, or fail under CI=true).
set -euo pipefail

packages=(
	swaks fetchmail getmail6 curl python3 mutt tmux isync offlineimap
	dovecot-imapd dovecot-pop3d dovecot-lmtpd postgresql fail2ban python3-dkim
)

installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install these yourself: ${packages[*]}" >&2
	exit 0
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all Debian packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing Debian packages (run as root to install): ${missing[*]}" >&2
	exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null
apt-get install -y -q "${missing[@]}" </dev/null
