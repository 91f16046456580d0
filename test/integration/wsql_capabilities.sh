#!/usr/bin/env bash
# Forged, expired, wrong-database, wrong-service and too-weak capabilities
# are refused with "denied", over HTTP and WebSocket, and nothing changes.
source "$(dirname "$0")/wsql_common.sh"
start_server
ALL=$(mint all)
rpc '{"op":"create_db","db":"runs"}' >/dev/null
rpc '{"op":"create","table":"m","columns":{"a":"INT"}}' "$ALL" runs >/dev/null
rpc '{"op":"insert","table":"m","row":{"a":1}}' "$ALL" runs >/dev/null
INSERT='{"op":"insert","table":"m","row":{"a":2}}'

READ=$(mint read runs)
expect_code "$INSERT" denied "$READ" runs                     # read cannot write
expect_code '{"op":"drop","table":"m"}' denied "$(mint read,write runs)" runs
expect_code '{"op":"drop_db","db":"runs"}' denied "$(mint read,write,table runs)" runs
expect_code "$INSERT" denied "$(mint all other)" runs          # another database
last=${ALL: -1}
expect_code "$INSERT" denied "${ALL%?}$([ "$last" = A ] && echo B || echo A)" runs  # forged MAC
expect_code "$INSERT" denied "$(echo "$ALL" | sed 's/:f:/:1f:/')" runs  # widened rights
expect_code "$INSERT" denied "" runs                           # none
OTHER_SECRET="$TMP/other.secret"
wsql secret new "$OTHER_SECRET"
expect_code "$INSERT" denied "$(wsql cap --secret "$OTHER_SECRET" --rights all)" runs
SHORT=$(mint all runs 1s)
sleep 2
expect_code "$INSERT" denied "$SHORT" runs                     # expired
rpc "$INSERT" "$SHORT" runs | jq -r .error.message | grep -q expired || fail "expiry not said"

# The same over WebSocket through the client: exit 77 and the reason.
run wsql "$WS/runs?cap=$READ" 'INSERT INTO m VALUES (3)'
expect_rc 77
expect_err "wsql: error: denied:"
run wsql "$WS/runs?cap=$(mint all other)" 'SELECT * FROM m'
expect_rc 77
expect_err "the capability is for database 'other', not 'runs'"

[ "$(rpc '{"op":"count","table":"m"}' "$READ" runs | jq .count)" = 1 ] || fail "a refused write changed the table"

# A weaker capability minted by the server works for what it allows only.
WEAK=$(wsql cap "$WS/runs?cap=$ALL" --rights read)
run wsql "$WS/runs?cap=$WEAK" 'SELECT a FROM m'
expect_rc 0
expect_out '{"a":1}'
run wsql "$WS/runs?cap=$WEAK" 'DELETE FROM m'
expect_rc 77
server_alive
