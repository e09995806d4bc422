#!/bin/sh
# Every public header compiles on its own, warning-free, with gcc and clang, as
# C11 (-pedantic) and as C++ (third-party connectors may be written in C++).
. "$(dirname "$0")/../lib/common.sh"
n=0
for h in "$top"/include/sync/*.h; do
    for cc in gcc clang; do
        command -v $cc >/dev/null || continue
        echo "#include <sync/$(basename "$h")>" | $cc -std=c11 -Wall -Wextra -Werror -pedantic \
            -I"$top/include" -x c -fsyntax-only - || die "$(basename "$h") does not compile alone with $cc"
        n=$((n + 1))
    done
    if command -v g++ >/dev/null; then
        echo "#include <sync/$(basename "$h")>" | g++ -std=c++11 -Wall -Wextra -Werror \
            -I"$top/include" -x c++ -fsyntax-only - || die "$(basename "$h") does not compile as C++"
        n=$((n + 1))
    fi
done
echo "ok: $n compilations"
