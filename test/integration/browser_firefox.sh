# The volunteer page and the dashboard in headless Firefox (Debian's ESR,
# driven over WebDriver BiDi): a divisible campaign on 2 Web Workers,
# results equal to the filter-mode run.
. "$(dirname "$0")/browser/env.sh"
run_node firefox.test.js 120
