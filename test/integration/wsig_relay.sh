# Relay circuits through the real wsig: data both ways, refusals, a slow
# receiver slowing its sender, a stalled receiver holding one window at most.
. "$(dirname "$0")/wsig/env.sh"
run_node relay.test.js 300
