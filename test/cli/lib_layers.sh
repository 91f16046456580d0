# lib/'s modules include only what the module map lets them
# (scripts/check_layers.sh against the table lib/CMakeLists.txt writes), and
# the check does fail on a real violation: a copy of lib/ with one reverse
# include of each kind, a layer edge going up, and a module the map lacks.
. "$(dirname "$0")/common.sh"
: "${W_BUILD:?W_BUILD must point at the build directory}"
check=$W_SRC/scripts/check_layers.sh
table=$W_BUILD/module_layers.txt

# The tree as it is passes.
run bash "$check" "$table" "$W_SRC/lib"
expect_rc 0
expect_out "every include within the map"

# A fresh copy of lib/ for each violation.
copy() {
  rm -rf "$TMP/lib"
  cp -r "$W_SRC/lib" "$TMP/lib"
}

# net/ (infra) reaching up to pool/'s public header.
copy
sed -i '1i #include "w/pool.h"' "$TMP/lib/src/net/http.cc"
run bash "$check" "$table" "$TMP/lib"
expect_rc 1
expect_err "src/net/http.cc:1: module net includes w/pool.h of module pool, which it may not use"

# proto/ reaching up to a worker's internal header by a relative path.
copy
sed -i '1i #include "../worker/relay.h"' "$TMP/lib/src/proto/fields.cc"
run bash "$check" "$table" "$TMP/lib"
expect_rc 1
expect_err "module proto includes ../worker/relay.h of module worker"

# pool/ using sql/: same layer, not in pool's USES.
copy
sed -i '1i #include "w/sql.h"' "$TMP/lib/src/pool/auth.cc"
run bash "$check" "$table" "$TMP/lib"
expect_rc 1
expect_err "module pool includes w/sql.h of module sql"

# A browser-only file is checked too (the native build never compiles it).
copy
sed -i '1i #include "w/pool.h"' "$TMP/lib/src/worker/browser_emscripten.cc"
run bash "$check" "$table" "$TMP/lib"
expect_rc 1
expect_err "module worker includes w/pool.h of module pool"

# A table whose edge goes up a layer (a cycle in the making).
sed 's/^stream 1 status /stream 1 status proto /' "$table" >"$TMP/table"
copy
run bash "$check" "$TMP/table" "$TMP/lib"
expect_rc 1
expect_err "module stream (layer 1) uses proto (layer 2): only lower layers may be used"

# A new folder of lib/src that no w_module() declares.
copy
mkdir "$TMP/lib/src/extra"
echo 'int x;' >"$TMP/lib/src/extra/x.cc"
run bash "$check" "$table" "$TMP/lib"
expect_rc 1
expect_err "lib/src/extra is in no w_module()"
