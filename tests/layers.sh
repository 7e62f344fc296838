#!/bin/sh
# layers.sh - checks the include directions of src/ (README "Layout").
#
# src/ is grouped by layer, lowest first:
#   core mcp binance tools proc transport daemon, then src/main.c.
# A file may include headers of its own layer and of the layers below it,
# never of a layer above. Two modules (a .c with its .h) must not include
# each other, nor may two headers; a header without a .c of its name (a
# contract such as mcp_tool.h, or private records such as worker_int.h)
# belongs to no module. Prints one
# line per violation and exits 1 when there is any; "N passed, N failed"
# closes the output like the other scripts.
set -eu

src=${TESTS_SRCDIR:-$(dirname "$0")}/../src
layers="core mcp binance tools proc transport daemon"

rank_of_layer() {
    r=0
    for l in $layers; do
        [ "$l" = "$1" ] && { echo "$r"; return; }
        r=$((r + 1))
    done
    echo 99
}

# header name -> layer, for every header under src/
map=$(mktemp)
edges=$(mktemp)
incs=$(mktemp)
hedges=$(mktemp)
trap 'rm -f "$map" "$edges" "$incs" "$hedges"' EXIT
for l in $layers; do
    [ -d "$src/$l" ] || continue
    for h in "$src/$l"/*.h; do
        [ -e "$h" ] && printf '%s %s\n' "$(basename "$h")" "$l" >>"$map"
    done
done

# The module of a file: its name without .c/.h when a .c of that name
# exists beside it, else nothing.
module_of() {
    stem=${1%.[ch]}
    [ -e "$stem.c" ] && basename "$stem"
    return 0
}

failed=0
checked=0
check_file() { # FILE LAYER
    f=$1
    l=$2
    fr=$(rank_of_layer "$l")
    mod=$(module_of "$f")
    sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f" >"$incs"
    while read -r inc; do
        [ "$inc" = config.h ] && continue
        il=$(awk -v h="$inc" '$1 == h { print $2 }' "$map")
        if [ -z "$il" ]; then
            echo "layers: $f includes \"$inc\", which is in no layer of src/"
            failed=$((failed + 1))
            continue
        fi
        ir=$(rank_of_layer "$il")
        if [ "$ir" -gt "$fr" ]; then
            echo "layers: $f ($l) includes $inc from the higher layer $il"
            failed=$((failed + 1))
        fi
        imod=$(module_of "$src/$il/$inc")
        if [ -n "$mod" ] && [ -n "$imod" ] && [ "$imod" != "$mod" ]; then
            printf '%s %s\n' "$mod" "$imod" >>"$edges"
        fi
        case $f in
        *.h) printf '%s %s\n' "$(basename "$f")" "$inc" >>"$hedges" ;;
        esac
    done <"$incs"
    checked=$((checked + 1))
}

for l in $layers; do
    for f in "$src/$l"/*.[ch]; do
        [ -e "$f" ] && check_file "$f" "$l"
    done
done
check_file "$src/main.c" main

# modules, and headers, that include each other
for kind in modules headers; do
    if [ "$kind" = modules ]; then list=$edges; else list=$hedges; fi
    cycles=$(sort -u "$list" |
        awk '{ if (($2 " " $1) in seen) print $2 " <-> " $1
               seen[$1 " " $2] = 1 }')
    if [ -n "$cycles" ]; then
        printf '%s\n' "$cycles" | sed "s/^/layers: $kind include each other: /"
        failed=$((failed + $(printf '%s\n' "$cycles" | wc -l)))
    fi
done

stray=$(find "$src" -maxdepth 1 -name '*.[ch]' ! -name main.c)
if [ -n "$stray" ]; then
    echo "layers: files outside any layer folder: $stray"
    failed=$((failed + 1))
fi

if [ "$failed" -eq 0 ]; then
    echo "$checked passed, 0 failed"
    exit 0
fi
echo "$((checked - failed)) passed, $failed failed"
exit 1
