# ICE servers for the pages' DataChannels: a real coturn (Debian's) on
# loopback as TURN server, `wpool serve --ice-server turn:... --ice-username
# --ice-credential`, and pages that may use only relayed candidates
# (?ice=relay): every channel of a K=2 ring campaign opens through TURN
# (coturn's log shows the allocations) and no frame goes through wsig's
# relay. Without --ice-server, the same relay-only page opens no channel
# (so it was TURN that carried them). Wrong --ice-server values are refused.
. "$(dirname "$0")/browser/env.sh"
command -v turnserver >/dev/null || { echo "FAIL: coturn is not installed (scripts/deps.sh)" >&2; exit 1; }
run_node ice.test.js 300
