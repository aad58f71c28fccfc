#!/usr/bin/env bash
# Fetches the pinned release of Mozilla's PDF.js (pdfjs-dist) from the npm
# registry into internal/webmail/assets/static/pdfjs/, where the webmail's
# sandboxed PDF preview loads it. Run it only to move to another release:
# the files are committed, so building and testing never need npm.
set -euo pipefail
VERSION=6.5.438
cd "$(dirname "$0")/.."
dest=internal/webmail/assets/static/pdfjs
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "pdfjs-dist@$VERSION" >/dev/null && tar xzf "pdfjs-dist-$VERSION.tgz")
mkdir -p "$dest"
cp "$tmp/package/build/pdf.min.mjs" "$tmp/package/build/pdf.worker.min.mjs" "$tmp/package/LICENSE" "$dest/"
echo "$VERSION" > "$dest/VERSION"
echo "pdfjs-dist $VERSION in $dest" >&2
