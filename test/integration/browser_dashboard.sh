# The dashboard opened after 30 s of two campaigns draws that history with
# a time axis, shows each worker's CPU load and memory and fits a 375 px
# phone; the volunteer page speaks to a refused volunteer in its words and
# takes ?cap=. Screenshots go to build/screenshots/.
. "$(dirname "$0")/browser/env.sh"
run_node dashboard.test.js 240
