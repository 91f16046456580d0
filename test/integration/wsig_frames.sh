# Malformed WebSocket frames (Autobahn-style) close only the offending
# connection; fragmented messages and pings work.
. "$(dirname "$0")/wsig/env.sh"
run_node frames.test.js 300
