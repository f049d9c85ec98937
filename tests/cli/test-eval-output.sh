#!/bin/sh
# `medner eval` output (issue 14.12): write failures are reported with exit status 1 (stdout on
# /dev/full, the predictions file over a file-size limit); --predictions (patient text) is created
# with mode 0600, never written through a symbolic link or to a non-regular file, and an existing
# regular file is overwritten and set to 0600 (docs/eval.md); `eval --help` lists --base/--adapter.
set -eu
m=bin/medner
tiny=tests/data/models/tiny-bert-tc
data=tests/data/eval/tiny-first.gold.tsv
fail() { echo "eval-output: FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/medner-evalout.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
umask 022

$m eval --help > "$tmp/help"
grep -q -- "--base DIR" "$tmp/help" || fail "eval --help does not list --base"
grep -q -- "--adapter DIR" "$tmp/help" || fail "eval --help does not list --adapter"

set +e
$m eval --model $tiny --data $data > /dev/full 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "report to /dev/full: exit status $rc, not 1"
grep -q "medner eval: error writing the output" "$tmp/err" || fail "report to /dev/full: no message"
set +e
$m eval --model $tiny --data $data --json > /dev/full 2> "$tmp/err"; rc=$?
$m eval --help > /dev/full 2> "$tmp/err2"; rc2=$?
set -e
[ $rc -eq 1 ] || fail "--json to /dev/full: exit status $rc, not 1"
[ $rc2 -eq 1 ] && [ -s "$tmp/err2" ] || fail "--help to /dev/full: exit status $rc2, not 1"

# a new predictions file: mode 0600 whatever the umask
$m eval --model $tiny --data $data --predictions "$tmp/p.tsv" > "$tmp/report"
[ "$(stat -c %a "$tmp/p.tsv")" = 600 ] || fail "new predictions file has mode $(stat -c %a "$tmp/p.tsv")"
[ "$(grep -c . "$tmp/p.tsv")" -gt 100 ] || fail "predictions file too short"
# an existing regular file: overwritten (not appended to) and set to 0600
printf 'old content that is longer than nothing\n' > "$tmp/q.tsv"
chmod 644 "$tmp/q.tsv"
$m eval --model $tiny --data $data --predictions "$tmp/q.tsv" > /dev/null
[ "$(stat -c %a "$tmp/q.tsv")" = 600 ] || fail "existing predictions file keeps mode $(stat -c %a "$tmp/q.tsv")"
cmp -s "$tmp/p.tsv" "$tmp/q.tsv" || fail "existing predictions file not overwritten"
# a symbolic link: refused, its target neither created nor changed
ln -s "$tmp/target" "$tmp/link"
set +e
$m eval --model $tiny --data $data --predictions "$tmp/link" > "$tmp/out" 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "predictions through a symlink: exit status $rc, not 1"
[ ! -e "$tmp/target" ] || fail "predictions written through a dangling symlink"
grep -q "symbolic link" "$tmp/err" || fail "no clear message for a symlink: $(cat "$tmp/err")"
[ ! -s "$tmp/out" ] || fail "a report was printed although the predictions file was refused"
printf 'keep\n' > "$tmp/target"
chmod 644 "$tmp/target"
set +e
$m eval --model $tiny --data $data --predictions "$tmp/link" > /dev/null 2>&1; rc=$?
set -e
[ $rc -eq 1 ] && [ "$(cat "$tmp/target")" = keep ] || fail "predictions written through a symlink"
# not a regular file
set +e
$m eval --model $tiny --data $data --predictions /dev/null > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "not a regular file" "$tmp/err" || fail "/dev/null accepted as predictions file"
# a failing write of the predictions file (file-size limit; SIGXFSZ ignored so write() fails)
set +e
(trap '' XFSZ; ulimit -f 2; exec $m eval --model $tiny --data $data --predictions "$tmp/big.tsv") \
    > /dev/null 2> "$tmp/err"; rc=$?
set -e
[ $rc -eq 1 ] || fail "predictions write failure: exit status $rc, not 1"
grep -q "big.tsv: write failed" "$tmp/err" || fail "predictions write failure: no message: $(cat "$tmp/err")"
echo "eval-output: OK"
