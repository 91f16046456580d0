# The PeerJS drop-in rules (HTTP endpoints, WebSocket rules, relaying with the
# payload spliced, queues and expiry, liveness, limits) against the real wsig.
. "$(dirname "$0")/wsig/env.sh"
run_node protocol.test.js 300
