#!/usr/bin/env bash
# Checks lib/'s module graph against the table lib/CMakeLists.txt writes
# (build/module_layers.txt: "module layer uses... | headers..."):
#   - every module uses only modules of a lower layer (so the graph has no
#     cycle and no edge across or up a layer);
#   - every #include "..." of lib/src/<module>/ names a header of its own
#     module or of a module it uses: "w/x.h" by the owner of x.h, "../m/x.h"
#     by m, "x.h" by the including module (or the kernel ABI's w_kernel*.h).
# The per-module include directories already stop "w/x.h" reaching up at
# compile time; this also sees relative includes and the browser-only
# *_emscripten.cc files the native build never compiles.
#
# usage: check_layers.sh TABLE [LIB_DIR]   (LIB_DIR defaults to ./lib)
# Prints one line per violation on stderr and exits 1 if there is any.
set -euo pipefail

table=${1:?usage: check_layers.sh TABLE [LIB_DIR]}
lib=${2:-lib}
[[ -r $table ]] || { echo "check_layers: cannot read $table" >&2; exit 2; }
[[ -d $lib/src ]] || { echo "check_layers: no $lib/src" >&2; exit 2; }

declare -A layer uses owner
while read -r line; do
  [[ $line == \#* || -z $line ]] && continue
  left=${line%%|*}
  right=${line#*|}
  read -r -a words <<<"$left"
  m=${words[0]}
  layer[$m]=${words[1]}
  uses[$m]=" ${words[*]:2} "
  for h in $right; do owner[$h]=$m; done
done <"$table"

bad=0
fail() {
  echo "check_layers: $*" >&2
  bad=1
}

# The table itself: edges only go down.
for m in "${!layer[@]}"; do
  for u in ${uses[$m]}; do
    if [[ -z ${layer[$u]:-} ]]; then
      fail "module $m uses $u, which is no module"
    elif ((layer[$u] >= layer[$m])); then
      fail "module $m (layer ${layer[$m]}) uses $u (layer ${layer[$u]}): only lower layers may be used"
    fi
  done
done

# Every folder of lib/src is a module of the table.
for dir in "$lib"/src/*/; do
  m=$(basename "$dir")
  [[ -n ${layer[$m]:-} ]] || fail "lib/src/$m is in no w_module() of lib/CMakeLists.txt"
done

allowed() {  # allowed FROM TO
  [[ $1 == "$2" || ${uses[$1]} == *" $2 "* ]]
}

for dir in "$lib"/src/*/; do
  m=$(basename "$dir")
  [[ -n ${layer[$m]:-} ]] || continue
  for f in "$dir"*.cc "$dir"*.h; do
    [[ -e $f ]] || continue
    while IFS=: read -r n inc; do
      inc=${inc#*\"}
      inc=${inc%%\"*}
      case $inc in
        w/*)
          to=${owner[${inc#w/}]:-}
          [[ -n $to ]] || {
            fail "${f#"$lib"/}:$n: includes $inc, which no module owns"
            continue
          }
          ;;
        ../*/*) to=${inc#../}; to=${to%%/*} ;;
        w_kernel*) to=kernel ;;
        */*)
          fail "${f#"$lib"/}:$n: includes \"$inc\": name a header as \"w/x.h\", \"x.h\" or \"../module/x.h\""
          continue
          ;;
        *) to=$m ;;
      esac
      allowed "$m" "$to" || fail "${f#"$lib"/}:$n: module $m includes $inc of module $to, which it may not use"
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
  done
done

if ((bad)); then
  echo "check_layers: the module map is in lib/CMakeLists.txt and lib/README.md" >&2
  exit 1
fi
echo "check_layers: ${#layer[@]} modules, every include within the map"
