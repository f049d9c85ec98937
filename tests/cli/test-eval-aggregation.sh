#!/bin/sh
# `medner eval --aggregation A` scores exactly the entities `medner annotate` returns (issue 14.11),
# for A = none, simple, first, average, max. The expected tables and counts are seqeval 1.2.2's,
# written by tests/reference/make_eval_aggregation_goldens.py from the entities annotate returns
# with tests/data/models/tiny-bert-tc (projected on pieces independently of the C code, and
# checked there to equal the exact (type, start, end) span match). No Python at test time.
set -eu
m=bin/medner
tiny=tests/data/models/tiny-bert-tc
g=tests/data/eval/aggregation
fail() { echo "eval-aggregation: FAIL: $*"; exit 1; }
tmp=$(mktemp -d /tmp/medner-evalagg.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
for name in ncbi tiny-first; do
  case $name in
    ncbi) data=tests/data/eval/ncbi-disease-test.gold.tsv ;;
    tiny-first) data=tests/data/eval/tiny-first.gold.tsv ;;
  esac
  for agg in none simple first average max; do
    base=$g/$name-$agg
    [ -f "$base.counts" ] || fail "missing $base.counts"
    $m eval --model $tiny --data $data --aggregation $agg > "$tmp/t4" 2> "$tmp/err" ||
      fail "$name $agg: exit status $?"
    cmp -s "$tmp/t4" "$base.digits4.txt" || { diff "$base.digits4.txt" "$tmp/t4" | head -20;
      fail "$name $agg: table (digits 4) differs from seqeval's"; }
    $m eval --model $tiny --data $data --aggregation $agg --digits 10 > "$tmp/t10" 2>/dev/null
    cmp -s "$tmp/t10" "$base.digits10.txt" || fail "$name $agg: table (digits 10) differs from seqeval's"
    $m eval --model $tiny --data $data --aggregation $agg --json > "$tmp/j" 2>/dev/null
    want() { sed -n "s/^$1 //p" "$base.counts"; }
    micro=$(sed 's/.*"micro":{\([^}]*\)}.*/\1/' "$tmp/j")
    for k in support predicted correct; do
      case ",$micro," in
        *",\"$k\":$(want $k),"*) ;;
        *) fail "$name $agg: micro $k is not $(want $k): $micro" ;;
      esac
    done
    split=$(sed 's/.*"split":{\([^}]*\)}.*/\1/' "$tmp/j")
    [ "$split" = "\"predicted\":$(want entities),\"predicted_cutting_a_token\":$(want cutting),\"tokens_split\":$(want tokens_split)" ] ||
      fail "$name $agg: split counts $split"
    if [ "$(want cutting)" -gt 0 ]; then
      grep -q "^medner eval: $(want cutting) of $(want entities) predicted entities begin or end inside a token" "$tmp/err" ||
        fail "$name $agg: no note on stderr about the entities that cut a token"
    else
      [ ! -s "$tmp/err" ] || fail "$name $agg: unexpected stderr: $(cat "$tmp/err")"
    fi
    n=$((n + 1))
  done
done
echo "eval-aggregation: $n cases identical to seqeval"
