// wsql client connections: WebSocket (w::net::Client, pipelined msgpack
// frames) or HTTP (POST /rpc with a msgpack array of everything sent since
// the last answer); both over TLS for wss:// and https://.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "client.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/net_client.h"
#include "w/stream.h"

namespace w::sql {
namespace {

std::string url_encode(std::string_view s) {
  std::string out;
  for (char ch : s) {
    if (std::isalnum(static_cast<unsigned char>(ch)) || std::strchr("-_.~:*", ch))
      out += ch;
    else
      out += fmt::format("%{:02X}", static_cast<unsigned char>(ch));
  }
  return out;
}

// The part of a query string after "cap=", percent-decoded.
std::string query_arg(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (part.substr(0, name.size() + 1) == std::string(name) + "=")
      return net::url_decode(part.substr(name.size() + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

bool query_has(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    if (part == name || part.starts_with(std::string(name) + "=")) return true;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

class WsClient : public Client {
 public:
  explicit WsClient(std::unique_ptr<net::Client> c, double timeout)
      : c_(std::move(c)), timeout_(timeout) {}
  Status send(std::string request) override { return c_->send(std::move(request), true); }
  void set_timeout(double seconds) override { timeout_ = seconds; }
  Result<std::string> receive() override {
    net::Message m;
    auto got = c_->receive(m, static_cast<int>(timeout_ * 1000));
    if (!got.ok()) return got.status();
    if (!*got) return Status(Code::kTimeout, fmt::format("no answer within {} s", timeout_));
    return check_response(std::move(m.data));
  }

 private:
  std::unique_ptr<net::Client> c_;
  double timeout_;
};

class HttpClient : public Client {
 public:
  HttpClient(const Target& t, double timeout, size_t max_bytes)
      : target_(t), timeout_(timeout), max_bytes_(max_bytes) {}
  void set_timeout(double seconds) override { timeout_ = seconds; }
  Status send(std::string request) override {
    queued_.push_back(std::move(request));
    return {};
  }
  Result<std::string> receive() override {
    if (answers_.empty()) W_RETURN_IF_ERROR(post());
    if (answers_.empty()) return Status::Internal("receive() without a request");
    std::string a = std::move(answers_.front());
    answers_.pop_front();
    return check_response(std::move(a));
  }

 private:
  // Sends everything queued as one array; the answer is split back up.
  Status post() {
    if (queued_.empty()) return {};
    std::string body;
    mp::Packer pk(body);
    pk.array(static_cast<uint32_t>(queued_.size()));
    for (const std::string& q : queued_) pk.raw(q);
    queued_.clear();
    std::string path = target_.base + "/rpc?db=" + url_encode(target_.db);
    if (!target_.cap.empty()) path += "&cap=" + url_encode(target_.cap);
    auto answer = http_post(target_, path, body, timeout_, max_bytes_);
    if (!answer.ok()) return answer.status();
    std::vector<std::string_view> items;
    if (!mp::decode_array(*answer, items)) return single(*answer);
    for (std::string_view item : items) answers_.emplace_back(item);
    return {};
  }

  // A non-array answer: the server refused the whole message.
  Status single(const std::string& answer) {
    auto r = check_response(answer);
    return r.ok() ? Status::Invalid("the server answered a batch with one response") : r.status();
  }

  Target target_;
  double timeout_;
  size_t max_bytes_;
  std::vector<std::string> queued_;
  std::deque<std::string> answers_;
};

}  // namespace

Result<Target> parse_target(std::string_view url, std::string_view cap) {
  Target t;
  // ws:// and wss:// talk WebSocket, http:// and https:// POST /rpc.
  t.websocket = url.starts_with("ws://") || url.starts_with("wss://");
  if (!t.websocket && !url.starts_with("http://") && !url.starts_with("https://"))
    return Status::Invalid(fmt::format(
        "'{}' is not a ws://, wss://, http:// or https:// URL (e.g. ws://127.0.0.1:7080/runs)",
        url));
  auto where = net::parse_ws_url(url);
  if (!where.ok()) return where.status();
  t.tls = where->tls;
  t.host = where->host;
  t.port = where->port;
  std::string_view rest = where->path;
  const size_t q = rest.find('?');
  std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);
  std::string_view path = rest.substr(1, q == std::string_view::npos ? q : q - 1);
  if (query_has(query, "db")) {
    // Behind a proxy that serves wsql under a path (wss://host/sql/?db=runs),
    // the path is that prefix and the query names the database and table.
    t.base = "/" + std::string(path);
    while (!t.base.empty() && t.base.back() == '/') t.base.pop_back();
    t.db = query_arg(query, "db");
    t.table = query_arg(query, "table");
  } else {
    size_t sep = path.find('/');
    t.db = net::url_decode(path.substr(0, sep));
    if (sep != std::string_view::npos) t.table = net::url_decode(path.substr(sep + 1));
  }
  t.cap = query_arg(query, "cap");
  if (t.cap.empty()) t.cap = std::string(cap);
  return t;
}

std::string Target::origin() const {
  net::WsUrl u;
  u.tls = tls;
  u.host = host;
  u.port = port;
  std::string o = u.origin();
  if (!websocket) o.replace(0, 2, "http");  // ws -> http, wss -> https
  return o;
}

Result<std::unique_ptr<Client>> Client::connect(const Target& t, double timeout_s) {
  return connect_client(t, timeout_s, 256u << 20, true);
}

Result<std::unique_ptr<Client>> connect_client(const Target& t, double timeout_s,
                                               size_t max_message, bool wait_for_server) {
  if (!t.websocket) return std::unique_ptr<Client>(new HttpClient(t, timeout_s, max_message));
  const std::string shown = fmt::format("{}{}/{}", t.origin(), t.base, url_encode(t.db));
  std::string url = shown;
  if (!t.cap.empty()) url += "?cap=" + url_encode(t.cap);
  net::ClientOptions options;
  options.protocol = "wsql";
  options.connect_timeout = timeout_s;
  options.max_message = max_message;
  // One thread sends and waits for each answer: lws runs on it, with no
  // hand-over to a service thread and back per request (latency at 1 in flight).
  options.service_thread = false;
  // A server that is down or restarting is waited for, within --timeout;
  // errors name the URL without its capability (net::Client drops queries).
  net::RetryOptions retry;
  retry.give_up_after = timeout_s;
  retry.max_delay = 5;
  // A copy's source (inside the server) gets one attempt within its budget.
  auto c = wait_for_server
               ? net::Client::connect_retrying(url, options, retry, "wsql server " + shown)
               : net::Client::connect(url, options);
  if (!c.ok()) {
    // Errors name the URL; keep the capability out of logs and terminals.
    std::string message = c.status().message();
    if (size_t at = message.find(url); at != std::string::npos)
      message.replace(at, url.size(), shown);
    return Status(c.status().code(), message);
  }
  return std::unique_ptr<Client>(new WsClient(std::move(*c), timeout_s));
}

Result<std::string> Client::call(std::string request) {
  W_RETURN_IF_ERROR(send(std::move(request)));
  return receive();
}

Result<std::string> check_response(std::string response) {
  auto view = mp::MapView::parse(response);
  if (!view.ok()) return Status::Invalid("the server sent a malformed response");
  std::string_view raw = view->raw("error");
  if (raw.empty()) return response;
  auto err = mp::MapView::parse(raw);
  if (!err.ok()) return Status::Invalid("the server sent a malformed error");
  std::string code = err->string("code").ok() ? *err->string("code") : "internal";
  std::string message = err->string("message").ok() ? *err->string("message") : "";
  Code c = code == "denied"        ? Code::kDenied
           : code == "not_found"   ? Code::kNotFound
           : code == "bad_request" ? Code::kInvalid
           : code == "timeout"     ? Code::kTimeout
                                   : Code::kFailed;
  return Status(c, fmt::format("{}: {}", code, message));
}

Result<std::string> http_post(const Target& t, const std::string& path, std::string_view body,
                              double timeout, size_t max_bytes) {
  net::WsUrl where;
  where.tls = t.tls;
  where.host = t.host;
  where.port = t.port;
  const std::string host_header = (t.tls && t.port == 443) || (!t.tls && t.port == 80)
                                      ? t.host
                                      : fmt::format("{}:{}", t.host, t.port);
  std::string request = fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/msgpack\r\nContent-Length: "
      "{}\r\nConnection: close\r\n\r\n",
      path, host_header, body.size());
  request.append(body);
  const std::string shown = t.origin() + t.base + "/rpc";
  // A failure before the request went out is retried within the timeout
  // (a restarting server); one after it is not: the server may have acted.
  net::RetryOptions retry;
  retry.give_up_after = timeout;
  retry.max_delay = 5;
  net::Backoff backoff(retry);
  Result<std::string> got = Status::Internal("not sent");
  while (true) {
    got = net::exchange(where, shown, request, timeout, net::default_tls(), max_bytes);
    if (got.ok()) break;
    auto again = backoff.wait(got.status(), "wsql server " + shown);
    if (!again.ok()) return again.status();
  }
  backoff.reset();
  const size_t end = got->find("\r\n\r\n");
  unsigned status = 0;
  if (got->starts_with("HTTP/1.") && got->size() > 12)
    std::from_chars(got->data() + 9, got->data() + 12, status);
  if (status == 0 || end == std::string::npos)
    return Status::Io(fmt::format("POST {}: not an HTTP answer", shown));
  std::string head = got->substr(0, end);
  std::transform(head.begin(), head.end(), head.begin(), ::tolower);
  // wsql puts its errors in a msgpack or JSON body whatever the status; an
  // answer of another kind is a proxy's (nginx: 502 with no server behind).
  const bool ours = head.find("content-type: application/msgpack") != std::string::npos ||
                    head.find("content-type: application/json") != std::string::npos;
  if (!ours && status != 200) return net::http_refusal(status, shown);
  return got->substr(end + 4);
}

}  // namespace w::sql
