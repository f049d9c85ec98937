#!/bin/sh
# make test-html: the page of `medner annotate --format html` in a real
# browser (Debian's chromium, headless). The demo model (all-MiniLM-L6-v2 +
# the clinical adapter) on examples/notes/*.txt plus a note with injected
# markup (tests/html/injection-note.txt):
#   - the HTML writer's overlap rule and escaping (build/tests/test_html_writer)
#   - the page as written and the DOM Chromium built from it (--dump-dom,
#     after --virtual-time-budget) both match the JSON lines of the same run:
#     every entity an element with its label, exact text, offsets, score and
#     context flags; legend counts; document list; the text whole
#     (tests/html/check_page.py); the injected <script> and <img onerror>
#     are text, and did nothing (title unchanged, no element id=pwned)
#   - no request from the page while it loads (Chromium's net log, all host
#     names resolving to nothing); a control page with an external image and
#     stylesheet must be caught by the same check
#   - a 1280x2000 screenshot in build/html/page.png that is not blank and is
#     colourful; a blank page must be caught by the same check
# Prints "html: N passed, M failed"; exit 1 on a failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
base=.cache/models/all-MiniLM-L6-v2
adapter=examples/models/clinical
out=build/html
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "  ok: $*"; }
bad() { failed=$((failed + 1)); echo "  FAIL: $*"; }
step() { # description command...
  d=$1; shift
  if "$@" > "$out/step.log" 2>&1; then ok "$d"; else bad "$d"; sed 's/^/    /' "$out/step.log"; fi
}
rm -rf "$out" && mkdir -p "$out"
abs=$(pwd)/$out
browser() { # chromium, headless, no network, no background services; a page that
  # hangs it (an alert() dialog waits for ever) is killed after 30 s
  timeout -k 5 30 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --host-resolver-rules="MAP * ~NOTFOUND" \
    --user-data-dir="$abs/profile" "$@" 2>>"$out/chromium.log"
}

echo "==> HTML writer (overlap rule, escaping)"
step "test_html_writer" build/tests/test_html_writer

echo "==> page of the demo model"
notes="$(echo examples/notes/*.txt) tests/html/injection-note.txt"
# shellcheck disable=SC2086
step "annotate --format jsonl" sh -c "bin/medner annotate --base $base --adapter $adapter \
  --format jsonl $notes > $out/notes.jsonl"
# shellcheck disable=SC2086
step "annotate --format html" sh -c "bin/medner annotate --base $base --adapter $adapter \
  --format html $notes > $out/page.html"
grep -q '"negated":true' "$out/notes.jsonl" && grep -q '"family":true' "$out/notes.jsonl" &&
  ok "the demo notes have negated and family entities" ||
  bad "no negated/family entity in the demo's results (context off?)"
# shellcheck disable=SC2086
step "page as written matches the JSON lines" python3 tests/html/check_page.py \
  "$out/page.html" "$out/notes.jsonl" --files $notes --injection

echo "==> Chromium: DOM after loading, network"
browser --virtual-time-budget=3000 --log-net-log="$abs/netlog.json" \
  --net-log-capture-mode=Everything --dump-dom "file://$abs/page.html" > "$out/dom.html"
[ -s "$out/dom.html" ] && ok "--dump-dom" || bad "--dump-dom gave nothing (see $out/chromium.log)"
# shellcheck disable=SC2086
step "DOM matches the JSON lines; injected markup is text and did not run" \
  python3 tests/html/check_page.py "$out/dom.html" "$out/notes.jsonl" --files $notes --injection --dom
grep -q '<title>medner annotations</title>' "$out/dom.html" && ok "title unchanged in the DOM" ||
  bad "the title changed in the DOM"
# the same page without its Content-Security-Policy (which would stop an
# injected script anyway): only the escaping keeps the injected script from
# running, so title and body stay as they are
grep -v 'http-equiv="Content-Security-Policy"' "$out/page.html" > "$out/page-nocsp.html"
browser --virtual-time-budget=3000 --dump-dom "file://$abs/page-nocsp.html" > "$out/dom-nocsp.html"
# (an element with id="pwned", not the text `b id="pwned"` that a DOM dump prints unescaped
# when an entity splits the injected markup)
grep -q '<title>medner annotations</title>' "$out/dom-nocsp.html" &&
  ! grep -q -E '<[a-zA-Z][^<>]* id="pwned"' "$out/dom-nocsp.html" && grep -q 'class="doc"' "$out/dom-nocsp.html" &&
  ok "without the CSP the injected script did not run either" ||
  bad "without the CSP: injected script ran (title/id=pwned) or no DOM"
# control: a page where the script does run must be caught by that check
printf '<!DOCTYPE html><title>medner annotations</title><div class="doc">%s</div>\n' \
  "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=pwned>')</script>" \
  > "$out/control-script.html"
browser --virtual-time-budget=3000 --dump-dom "file://$abs/control-script.html" > "$out/dom-control.html"
grep -q '<title>medner annotations</title>' "$out/dom-control.html" &&
  ! grep -q -E '<[a-zA-Z][^<>]* id="pwned"' "$out/dom-control.html" &&
  bad "the script check missed a control page's script" ||
  ok "the script check catches a control page's script"
step "no request from the page" python3 tests/html/chromium_checks.py netlog "$out/netlog.json" \
  "file://$abs/page.html"
# control: the same check catches a page that fetches
printf '<!DOCTYPE html><title>c</title><img src="http://control.invalid/x.png">\n' > "$out/control.html"
browser --virtual-time-budget=3000 --log-net-log="$abs/netlog-control.json" \
  --dump-dom "file://$abs/control.html" > /dev/null
if python3 tests/html/chromium_checks.py netlog "$out/netlog-control.json" \
     "file://$abs/control.html" > "$out/step.log" 2>&1; then
  bad "the network check missed the control page's request"
else
  ok "the network check catches a control page's request"
fi

echo "==> Chromium: screenshot"
browser --screenshot="$abs/page.png" --window-size=1280,2000 "file://$abs/page.html" > /dev/null
step "screenshot $out/page.png: not blank, colourful" python3 tests/html/chromium_checks.py png \
  "$out/page.png" 1280 2000
printf '<!DOCTYPE html><title>b</title>\n' > "$out/blank.html"
browser --screenshot="$abs/blank.png" --window-size=1280,2000 "file://$abs/blank.html" > /dev/null
if python3 tests/html/chromium_checks.py png "$out/blank.png" 1280 2000 > "$out/step.log" 2>&1; then
  bad "the screenshot check passed a blank page"
else
  ok "the screenshot check catches a blank page"
fi
rm -rf "$out/profile" "$out/step.log"

echo
echo "html: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
