# mlp with --replicas 3 on one browser and two native workers completes with
# the natives' values and no honest worker flagged (replicas of different
# platforms are not compared without --quorum-tolerance).
. "$(dirname "$0")/browser/env.sh"
run_node replicas.test.js 240
