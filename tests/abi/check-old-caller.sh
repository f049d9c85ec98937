#!/bin/sh
# A program built against the last release's header (tests/abi/v0.1.0/medner.h,
# the header at tag v0.1.0) must run against the newly built shared library:
# every params struct and getter with the release's struct sizes
# (tests/abi/old_caller.c). Run by tests/abi/check-abi.sh.
#   check-old-caller.sh SOLIB
set -eu
solib=$1
out=build/abi
mkdir -p "$out"
cc=${CC:-cc}
$cc -std=c99 -Wall -Wextra -pedantic -Werror -Itests/abi/v0.1.0 -o "$out/old_caller" \
    tests/abi/old_caller.c "$solib"
# A configuration file for medner_pipeline_load_config (paths in it are
# relative to the file, so the model is given absolutely).
printf 'model: "%s/tests/data/models/tiny-bert-tc"\nmax_length: 24\noverlap: 4\n' "$(pwd)" \
    > "$out/old-caller.yaml"
LD_LIBRARY_PATH="$(dirname "$solib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    "$out/old_caller" tests/data/models/tiny-bert-tc "$out/old-caller.yaml"
