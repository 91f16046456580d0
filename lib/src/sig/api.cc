#include "api.h"

#include <algorithm>

#include <fmt/format.h>

#include "ids.h"
#include "message.h"

#ifndef W_VERSION
#define W_VERSION "0.0.0"
#endif

namespace w::sig {
namespace {

std::string json_array(const std::vector<std::string>& ids) {
  std::string out = "[";
  for (const auto& id : ids) {
    if (out.size() > 1) out += ',';
    append_json_string(out, id);
  }
  out += ']';
  return out;
}

// PeerJS's cors() default reflects any Origin; a --cors list narrows it.
void add_cors(const SigOptions& o, const net::HttpRequest& r, net::HttpResponse& res) {
  if (r.origin.empty()) return;
  if (!o.cors.empty() && std::find(o.cors.begin(), o.cors.end(), r.origin) == o.cors.end()) return;
  res.headers.emplace_back("Access-Control-Allow-Origin", r.origin);
  res.headers.emplace_back("Vary", "Origin");
}

std::string metrics(const ApiContext& c) {
  const HubStats& h = c.hub.stats();
  const RelayStats& r = c.hub.relay().stats();
  const GroupStats& g = c.hub.groups().stats();
  std::string out;
  auto put = [&](std::string_view name, std::string_view kind, uint64_t v) {
    out += fmt::format("# TYPE wsig_{} {}\nwsig_{} {}\n", name, kind, name, v);
  };
  put("peers", "gauge", c.hub.peers());
  put("peers_registered_total", "counter", h.registered);
  put("takeovers_total", "counter", h.takeovers);
  put("refused_total", "counter", h.refused);
  put("timed_out_total", "counter", h.timed_out);
  put("messages_relayed_total", "counter", h.relayed);
  put("messages_queued_total", "counter", h.queued);
  put("messages_delivered_total", "counter", h.delivered);
  put("messages_dropped_total", "counter", h.dropped);
  put("expire_sent_total", "counter", h.expired);
  put("heartbeats_total", "counter", h.heartbeats);
  put("messages_dropped_full_total", "counter", h.dropped_full);
  put("messages_rate_limited_total", "counter", h.rate_limited);
  put("flooders_disconnected_total", "counter", h.flooders);
  put("queue_messages", "gauge", c.hub.mailboxes().messages());
  put("queue_bytes", "gauge", c.hub.mailboxes().bytes());
  put("groups", "gauge", c.hub.groups().count());
  put("group_errors_total", "counter", g.errors);
  put("relay_circuits", "gauge", c.hub.relay().circuits());
  put("relay_in_flight_bytes", "gauge", c.hub.relay().in_flight());
  put("relay_frames_total", "counter", r.frames);
  put("relay_bytes_total", "counter", r.bytes);
  put("relay_window_violations_total", "counter", r.window_violations);
  put("relay_links", "gauge", c.net.protocol_now);
  put("relay_links_refused_total", "counter", c.net.protocol_refused);
  put("http_requests_total", "counter", c.net.http_requests);
  put("ws_open", "gauge", c.net.ws_open_now);
  put("ws_messages_in_total", "counter", c.net.messages_in);
  put("ws_messages_out_total", "counter", c.net.messages_out);
  put("ws_bytes_in_total", "counter", c.net.bytes_in);
  put("ws_bytes_out_total", "counter", c.net.bytes_out);
  net::append_admission_metrics(out, "wsig", c.net);
  return out;
}

std::string status_json(const ApiContext& c) {
  const HubStats& h = c.hub.stats();
  return fmt::format(
      "{{\"name\":\"wsig\",\"version\":\"{}\",\"uptime_ms\":{},\"peers\":{},"
      "\"concurrent_limit\":{},\"queued_messages\":{},\"queued_bytes\":{},\"groups\":{},"
      "\"relay_circuits\":{},\"relayed\":{},\"queued\":{},\"expired\":{},\"dropped\":{},"
      "\"websockets\":{}}}",
      W_VERSION, c.uptime_ms, c.hub.peers(), c.options.concurrent_limit,
      c.hub.mailboxes().messages(), c.hub.mailboxes().bytes(), c.hub.groups().count(),
      c.hub.relay().circuits(), h.relayed, h.queued, h.expired, h.dropped, c.net.ws_open_now);
}

net::HttpResponse peers(const ApiContext& c, const net::HttpRequest& r) {
  const std::string prefix = r.arg("prefix");
  if (c.options.allow_discovery)
    return net::HttpResponse::json(200, json_array(c.hub.ids_with_prefix(prefix)));
  if (c.options.groups && valid_group_prefix(prefix)) {
    // A created group's prefix lists only the peers admitted into it.
    std::vector<std::string> ids = c.hub.ids_with_prefix(prefix);
    if (prefix.back() == '-' && c.hub.groups().exists(prefix.substr(0, prefix.size() - 1)))
      std::erase_if(ids, [&](const std::string& id) { return !c.hub.prefix_member(id); });
    return net::HttpResponse::json(200, json_array(ids));
  }
  return net::HttpResponse::text(401, "Unauthorized");
}

net::HttpResponse route(const ApiContext& c, const net::HttpRequest& r) {
  const std::string& p = c.options.path;
  if (r.path == "/metrics") {
    auto res = net::HttpResponse::text(200, metrics(c));
    res.content_type = "text/plain; version=0.0.4";
    return res;
  }
  if (r.path == "/api/status") return net::HttpResponse::json(200, status_json(c));
  // "/myapp" answers like "/myapp/", as Express does.
  const std::string path = r.path + "/" == p ? p : r.path;
  if (path.compare(0, p.size(), p) != 0) return net::HttpResponse::text(404, "Not Found");
  const std::string_view rest = std::string_view(path).substr(p.size());
  if (rest.empty())
    return net::HttpResponse::json(
        200,
        "{\"name\":\"wsig\",\"description\":\"A PeerJS-compatible signalling server (wkit)\","
        "\"version\":\"" W_VERSION "\"}");
  if (rest.substr(0, 5) == "list/") {
    const std::string_view group = rest.substr(5);
    if (!c.options.groups || !valid_id(group) || group.find('-') != std::string_view::npos)
      return net::HttpResponse::text(404, "Not Found");
    return net::HttpResponse::json(200, json_array(c.hub.groups().members(group)));
  }
  const size_t slash = rest.find('/');
  if (slash == 0 || slash == std::string_view::npos)
    return net::HttpResponse::text(404, "Not Found");
  const std::string_view what = rest.substr(slash + 1);
  if (what == "id") {
    auto res = net::HttpResponse::text(200, c.hub.fresh_id());
    res.content_type = "text/html; charset=utf-8";
    return res;
  }
  if (what == "peers") return peers(c, r);
  return net::HttpResponse::text(404, "Not Found");
}

}  // namespace

net::HttpResponse answer_http(const ApiContext& c, const net::HttpRequest& r) {
  net::HttpResponse res;
  if (r.method == "OPTIONS") {
    res = net::HttpResponse::text(204, "");
    res.headers.emplace_back("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE");
    res.headers.emplace_back("Access-Control-Allow-Headers", "*");
  } else if (r.method != "GET" && r.method != "HEAD") {
    res = net::HttpResponse::text(404, "Not Found");
  } else {
    res = route(c, r);
  }
  add_cors(c.options, r, res);
  return res;
}

}  // namespace w::sig
