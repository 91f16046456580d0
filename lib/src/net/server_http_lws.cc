// w::net::Server's HTTP side (server_lws.h): a request is answered in one
// go, its body written in kHttpChunk pieces from HTTP_WRITEABLE; a POST body
// is capped by what the request's credentials allow (admission_lws.cc).
#include <fmt/format.h>

#include <cstring>

#include "server_lws.h"

namespace w::net {
namespace {

constexpr size_t kHttpChunk = size_t{16} * 1024;

}  // namespace

int Server::Impl::start_http(lws* wsi, const char* uri) {
  Session& s = session(wsi);
  s.request = HttpRequest();
  s.response = HttpResponse();
  s.body_sent = 0;
  s.request.path = uri ? uri : "/";
  s.request.query = request_query(wsi);
  s.request.origin = request_header(wsi, WSI_TOKEN_ORIGIN);
  s.request.peer = request_peer(wsi);
  ++self->stats_.http_requests;
  s.canned = false;
  if (!config.tls_cert.empty() && !lws_is_ssl(wsi)) {
    // Plain HTTP on the TLS port (lws lets it in to redirect GETs): nothing
    // is served in clear, a POST's body is not even read.
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) return -1;
    s.canned = true;
    s.response = HttpResponse::text(426, "this server speaks https only\n");
    return respond(wsi, s);
  }
  if (s.over_limit) {
    // Every place is authenticated: say so, without reading a body.
    if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) return -1;
    s.canned = true;
    s.response = HttpResponse::text(503, "server full: try again later\n");
    return respond(wsi, s);
  }
  if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0) {
    s.request.method = "POST";
    // The body may be as big as the credentials in its URL allow.
    s.body_too_big = false;
    s.request_us = now_us();
    if (!s.authenticated && handler->http_authenticated(s.request)) authenticate(s);
    return 0;  // answered at HTTP_BODY_COMPLETION
  }
  if (lws_hdr_total_length(wsi, WSI_TOKEN_OPTIONS_URI) > 0)
    s.request.method = "OPTIONS";
  else if (lws_hdr_total_length(wsi, WSI_TOKEN_PUT_URI) > 0)
    s.request.method = "PUT";
  else if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
    s.request.method = "DELETE";
  else if (lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) > 0)
    s.request.method = "HEAD";
  else
    s.request.method = "GET";
  return respond(wsi, s);
}

// A POST body, a piece at a time. Past its cap it is read on but not kept
// (and answered 413), within auth_timeout_s when unauthenticated.
int Server::Impl::receive_body(lws*, Session& s, const char* data, size_t len) {
  self->stats_.bytes_in += len;
  if (!s.authenticated &&
      now_us() - s.request_us > static_cast<int64_t>(config.auth_timeout_s * 1e6))
    return -1;
  if (s.body_too_big) return 0;
  if (s.request.body.size() + len > message_cap(s)) {
    ++self->stats_.too_big;
    s.body_too_big = true;
    s.request.body = std::string();
    return 0;
  }
  s.request.body.append(data, len);
  return 0;
}

int Server::Impl::respond(lws* wsi, Session& s) {
  if (!s.canned) s.response = handler->on_http(s.request);
  const HttpResponse& r = s.response;
  if (!r.file.empty()) {
    std::string extra;
    for (const auto& [name, value] : r.headers)
      extra.append(name).append(": ").append(value).append("\r\n");
    int n = lws_serve_http_file(wsi, r.file.c_str(), r.content_type.c_str(),
                                extra.empty() ? nullptr : extra.c_str(),
                                static_cast<int>(extra.size()));
    if (n < 0) return -1;
    if (n > 0 && lws_http_transaction_completed(wsi)) return -1;
    return 0;
  }
  unsigned char buf[LWS_PRE + 4096];
  unsigned char* start = buf + LWS_PRE;
  unsigned char* p = start;
  unsigned char* end = buf + sizeof buf - 1;
  if (lws_add_http_common_headers(wsi, static_cast<unsigned int>(r.status), r.content_type.c_str(),
                                  r.body.size(), &p, end))
    return 1;
  for (const auto& [name, value] : r.headers) {
    std::string key = name + ":";
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lws_add_http_header_by_name(wsi, reinterpret_cast<const unsigned char*>(key.c_str()),
                                    reinterpret_cast<const unsigned char*>(value.data()),
                                    static_cast<int>(value.size()), &p, end))
      return 1;
  }
  if (lws_finalize_write_http_header(wsi, start, &p, end)) return 1;
  if (s.request.method == "HEAD") {
    s.response.body.clear();
    if (lws_http_transaction_completed(wsi)) return -1;
    return 0;
  }
  lws_callback_on_writable(wsi);
  return 0;
}

int Server::Impl::write_http_body(lws* wsi, Session& s) {
  const std::string& body = s.response.body;
  const size_t n = std::min(kHttpChunk, body.size() - s.body_sent);
  const bool final = s.body_sent + n == body.size();
  std::string buf(LWS_PRE + n, '\0');
  std::memcpy(buf.data() + LWS_PRE, body.data() + s.body_sent, n);
  if (lws_write(wsi, reinterpret_cast<unsigned char*>(buf.data() + LWS_PRE), n,
                final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != static_cast<int>(n))
    return 1;
  s.body_sent += n;
  self->stats_.bytes_out += n;
  if (!final) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  if (lws_http_transaction_completed(wsi)) return -1;
  return 0;
}

}  // namespace w::net
