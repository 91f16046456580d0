// The browser app's files (www/: the volunteer page, the dashboard, the
// worker glue and wrun.js/wrun.wasm), served by wpool beside its API.
#pragma once

#include <optional>
#include <string>

#include "w/net.h"

namespace w::pool {

/// The response for `path` (e.g. "/", "/dashboard.html", "/wrun.wasm") from
/// the directory `dir`, or nothing when `dir` is empty or has no such file.
/// Only plain names directly in `dir` are served: no subdirectories, no
/// dot files, so a request can never leave it. ETag is the file's sha256.
std::optional<net::HttpResponse> www_file(const std::string& dir, const std::string& path);

/// `dir` if set; else the build tree's www/ beside bin/ (build/bin/wpool →
/// build/www), else the installed share/wkit/www; "" when none exists.
std::string resolve_www_dir(const std::string& dir);

}  // namespace w::pool
