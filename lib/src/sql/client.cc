// wsql client connections: WebSocket (w::net::Client, pipelined msgpack
// frames) or plain HTTP (POST /rpc with a msgpack array of everything sent
// since the last answer).
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "client.h"
#include "w/msgpack.h"
#include "w/net.h"
#include "w/net_client.h"
#include "w/parse.h"
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
    std::string path = "/rpc?db=" + url_encode(target_.db);
    if (!target_.cap.empty()) path += "&cap=" + url_encode(target_.cap);
    auto answer = http_post(target_.host, target_.port, path, body, timeout_, max_bytes_);
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

// Reads the whole response (Connection: close) within `timeout` seconds
// in all (a server sending a byte a second does not keep it going) and
// `max_bytes`.
Result<std::string> read_all(int fd, double timeout, size_t max_bytes) {
  std::string got;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::microseconds(static_cast<int64_t>(timeout * 1e6));
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return Status(Code::kTimeout, fmt::format("no answer within {} s", timeout));
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n == 0) return Status(Code::kTimeout, fmt::format("no answer within {} s", timeout));
    if (n < 0 && errno == EINTR) continue;
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_status("read", errno);
    if (r == 0) return got;
    got.append(buf, static_cast<size_t>(r));
    if (got.size() > max_bytes)
      return Status::Invalid(fmt::format("an answer of more than {} bytes", max_bytes));
  }
}

}  // namespace

Result<Target> parse_target(std::string_view url, std::string_view cap) {
  Target t;
  std::string_view rest = url;
  if (rest.substr(0, 5) == "ws://") {
    rest.remove_prefix(5);
  } else if (rest.substr(0, 7) == "http://") {
    t.websocket = false;
    rest.remove_prefix(7);
  } else {
    return Status::Invalid(
        fmt::format("'{}' is not a ws:// or http:// URL (e.g. ws://127.0.0.1:7080/runs)", url));
  }
  size_t q = rest.find('?');
  std::string_view query = q == std::string_view::npos ? "" : rest.substr(q + 1);
  rest = rest.substr(0, q);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  size_t colon = authority.rfind(':');
  t.host = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    auto port = util::parse_count(authority.substr(colon + 1));
    if (!port.ok() || *port <= 0 || *port > 65535)
      return Status::Invalid(fmt::format("'{}': bad port", url));
    t.port = static_cast<int>(*port);
  }
  if (t.host.empty()) return Status::Invalid(fmt::format("'{}': no host", url));
  size_t sep = path.find('/');
  t.db = net::url_decode(path.substr(0, sep));
  if (sep != std::string_view::npos) t.table = net::url_decode(path.substr(sep + 1));
  t.cap = query_arg(query, "cap");
  if (t.cap.empty()) t.cap = std::string(cap);
  return t;
}

Result<std::unique_ptr<Client>> Client::connect(const Target& t, double timeout_s) {
  return connect_client(t, timeout_s, 256u << 20);
}

Result<std::unique_ptr<Client>> connect_client(const Target& t, double timeout_s,
                                               size_t max_message) {
  if (!t.websocket) return std::unique_ptr<Client>(new HttpClient(t, timeout_s, max_message));
  std::string url = fmt::format("ws://{}:{}/{}", t.host, t.port, url_encode(t.db));
  if (!t.cap.empty()) url += "?cap=" + url_encode(t.cap);
  net::ClientOptions options;
  options.protocol = "wsql";
  options.connect_timeout = timeout_s;
  options.max_message = max_message;
  auto c = net::Client::connect(url, options);
  if (!c.ok()) {
    // Errors name the URL; keep the capability out of logs and terminals.
    std::string message = c.status().message();
    const std::string shown = fmt::format("ws://{}:{}/{}", t.host, t.port, t.db);
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

Result<std::string> http_post(const std::string& host, int port, const std::string& path,
                              std::string_view body, double timeout, size_t max_bytes) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string where = fmt::format("{}:{}", host, port);
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return Status::Io(fmt::format("resolve '{}': {}", host, gai_strerror(rc)));
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{static_cast<time_t>(timeout),
             static_cast<suseconds_t>((timeout - static_cast<long>(timeout)) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // bounds connect() too
  int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc != 0) {
    int err = errno;
    close(fd);
    return errno_status(fmt::format("connect {}", where), err);
  }
  std::string head = fmt::format(
      "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/msgpack\r\nContent-Length: {}\r\n"
      "Connection: close\r\n\r\n",
      path, where, body.size());
  head.append(body);
  Status s = stream::write_all(fd, head);
  auto got = s.ok() ? read_all(fd, timeout, max_bytes) : Result<std::string>(s);
  close(fd);
  if (!got.ok()) return got.status().with_context(fmt::format("POST {}", where));
  size_t end = got->find("\r\n\r\n");
  if (got->substr(0, 5) != "HTTP/" || end == std::string::npos)
    return Status::Io(fmt::format("POST {}: not an HTTP answer", where));
  return got->substr(end + 4);
}

}  // namespace w::sql
