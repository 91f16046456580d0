# A peer that floods another loses its own messages, then its connection;
# the receiver stays, and wsig holds a bounded queue per peer whatever the
# senders do.
. "$(dirname "$0")/wsig/env.sh"
run_node limits.test.js 300
