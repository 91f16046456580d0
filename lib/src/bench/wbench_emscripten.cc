// wbench.wasm's entry point: the same Dhrystone (dhry_1.cc, dhry_2.cc) and
// calibration (wbench.cc's run_dhrystone) as native wbench, called from a
// Web Worker (www/bench.js). Native builds compile this file to nothing.
#ifdef __EMSCRIPTEN__
#include <emscripten/emscripten.h>

#include <string>

#include <fmt/format.h>

#include "w/dhrystone.h"

extern "C" {
/// Measures for at least `seconds` and returns one JSON object:
/// dhrystones_per_second, dmips, runs (per measurement), seconds (all of
/// them), measurements (the score is the fastest's); or error when a final
/// value is not what Dhrystone says it should be. Valid until the next call.
EMSCRIPTEN_KEEPALIVE const char* w_wbench_run(double seconds) {
  static std::string out;
  auto r = w::bench::run_dhrystone(seconds);
  if (!r.ok()) {
    out = fmt::format("{{\"error\":\"{}\"}}", r.status().message());
  } else {
    out = fmt::format(
        "{{\"dhrystones_per_second\":{:.0f},\"dmips\":{:.1f},\"runs\":{},\"seconds\":{:.3f},"
        "\"measurements\":{}}}",
        r->dhrystones_per_second, r->dmips, r->runs, r->seconds, r->measurements);
  }
  return out.c_str();
}
}
#endif
