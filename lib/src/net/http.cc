// Transport-independent HTTP helpers: requests, responses, addresses.
#include <fmt/format.h>

#include "w/net.h"
#include "w/parse.h"

namespace w::net {

std::string url_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
               hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

namespace {
// Calls fn(name, value) for each "name=value" in a query string.
template <class Fn>
bool for_each_arg(std::string_view query, Fn&& fn) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    if (fn(name, value)) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}
}  // namespace

std::string HttpRequest::arg(std::string_view name) const {
  std::string found;
  for_each_arg(query, [&](std::string_view n, std::string_view v) {
    if (url_decode(n) != name) return false;
    found = url_decode(v);
    return true;
  });
  return found;
}

bool HttpRequest::has_arg(std::string_view name) const {
  return for_each_arg(query,
                      [&](std::string_view n, std::string_view) { return url_decode(n) == name; });
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  return r;
}

void append_admission_metrics(std::string& out, std::string_view prefix, const ServerStats& s) {
  auto put = [&](std::string_view name, std::string_view kind, std::string_view help, uint64_t v) {
    out += fmt::format("# HELP {0}_{1} {2}\n# TYPE {0}_{1} {3}\n{0}_{1} {4}\n", prefix, name, help,
                       kind, v);
  };
  put("connections_unauthenticated", "gauge", "Connections not yet authenticated.",
      s.unauthenticated_now);
  put("connections_refused_total", "counter", "Connections refused: every place authenticated.",
      s.refused);
  put("connections_evicted_total", "counter",
      "Unauthenticated connections closed to make room for newcomers.", s.evicted);
  put("auth_timeouts_total", "counter", "Connections closed unauthenticated at the deadline.",
      s.auth_timeouts);
  put("idle_timeouts_total", "counter", "Authenticated connections closed for idling.",
      s.idle_timeouts);
  put("too_big_total", "counter", "Messages and bodies over their cap.", s.too_big);
  put("tls_reloads_total", "counter", "TLS certificates reloaded on SIGHUP.", s.tls_reloads);
  put("tls_reload_failures_total", "counter",
      "SIGHUPs whose certificate and key did not load as a pair (the old pair kept).",
      s.tls_reload_failures);
}

}  // namespace w::net
