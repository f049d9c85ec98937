#!/bin/sh
# The public header must compile on its own as C99 and as C++ (98 and 11) with
# every warning an error.
set -eu
cc=${CC:-cc}
cxx=${CXX:-c++}
printf '#include "medner.h"\nint main(void) { return medner_version_number() > 0 ? 0 : 1; }\n' > /tmp/medner-hdr.$$.c
trap 'rm -f /tmp/medner-hdr.$$.c' EXIT
$cc -std=c99 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only /tmp/medner-hdr.$$.c
$cxx -x c++ -std=c++98 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only /tmp/medner-hdr.$$.c
$cxx -x c++ -std=c++11 -Wall -Wextra -pedantic -Werror -Iinclude -fsyntax-only /tmp/medner-hdr.$$.c
echo "check-header: include/medner.h compiles as C99, C++98 and C++11 (-Wall -Wextra -pedantic -Werror)"
