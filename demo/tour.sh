#!/usr/bin/env bash
# A tour of the `oio` CLI on a throw-away embedded namespace (what `make demo` runs).
# Everything happens in a temporary directory, removed on exit, whatever happens.
set -euo pipefail

OIO=${OIO:-oio}
command -v "$OIO" >/dev/null || { echo "'$OIO' not found: run 'make demo' or 'pip install -e .'" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/oiocli-demo.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

export OIO_DATA_DIR="$tmp/namespace"
export OIO_NS=DEMO
export OIO_ACCOUNT=demo

bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi
heading() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
run() { printf '$ %s\n' "$*"; "$@"; }

heading "Namespace $OIO_NS in $OIO_DATA_DIR, account $OIO_ACCOUNT"
run "$OIO" --version

heading "Accounts"
run "$OIO" account create demo
run "$OIO" account show demo

heading "Containers"
run "$OIO" container create photos
run "$OIO" container list

heading "An erasure-coded upload (30 MiB of random data; a progress bar shows on a terminal)"
head -c $((30 * 1024 * 1024)) /dev/urandom > "$tmp/video.bin"
run "$OIO" object create photos "$tmp/video.bin" --name video.bin --policy EC
run "$OIO" object create photos "$tmp/video.bin" --name copy-of-video.bin --policy THREECOPIES

heading "Listing, as a table and as JSON"
run "$OIO" object list photos
run "$OIO" object list photos -f json

heading "Where the chunks are (EC 6+3: positions N.F, fragment F of metachunk N)"
run "$OIO" object locate photos video.bin

heading "Ranged fetch: the first 100 bytes, compared with the source"
printf '$ %s\n' "$OIO object fetch photos video.bin --range 0-99 | cmp - <(head -c 100 video.bin)"
"$OIO" object fetch photos video.bin --range 0-99 | cmp - <(head -c 100 "$tmp/video.bin")
echo "identical"

heading "Whole fetch to a file, compared with the source"
run "$OIO" object fetch photos video.bin --file "$tmp/back.bin"
run cmp "$tmp/video.bin" "$tmp/back.bin"
echo "identical"

heading "Snapshot of the container (independent of its source)"
run "$OIO" container snapshot photos --dst-container photos-snapshot
run "$OIO" object list photos-snapshot

heading "Truncate to 1 MiB (shrink only)"
run "$OIO" object truncate photos video.bin --size 1048576
run "$OIO" object show photos video.bin
run "$OIO" object show photos-snapshot video.bin

heading "Container and account statistics"
run "$OIO" container show photos
run "$OIO" account show demo

heading "Cleanup"
run "$OIO" object delete photos video.bin copy-of-video.bin
# A snapshot is frozen (read-only): enable it before emptying it.
run "$OIO" container set photos-snapshot --status enabled
run "$OIO" object delete photos-snapshot video.bin copy-of-video.bin
run "$OIO" container delete photos photos-snapshot
run "$OIO" account delete demo
echo
echo "Tour done; $tmp is removed on exit."
