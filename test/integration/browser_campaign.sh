# The volunteer page (2 Web Workers) and a native wrun complete a divisible
# campaign with results equal to the filter-mode run; the dashboard shows
# 100% and both platforms, and a screenshot is saved in the build directory.
. "$(dirname "$0")/browser/env.sh"
run_node campaign.test.js 240
