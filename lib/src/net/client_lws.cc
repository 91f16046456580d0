// w::net::Client on libwebsockets 4.1: a private context and service thread,
// or none (ClientOptions::service_thread false: the caller's thread runs
// lws inside the calls that wait, Impl::pump).
//
// Ownership: the Impl lives until ~Client, which stops and joins the thread
// before destroying the context (and then its SSL_CTX, which lws only
// borrows). Everything touching `wsi` happens on the service thread (the
// caller's, without one); the mutex guards the queues and the state flags.
//
// TLS: our own SSL_CTX (tls.h: the system's CAs or --cacert) is handed to
// lws, which verifies the chain and the host name per connection and asks
// us at each step (PERFORM_SERVER_CERT_VERIFICATION): there we keep why a
// certificate failed, since lws's own error string does not say.
#include <libwebsockets.h>
#include <netdb.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "tls.h"
#include "w/net_client.h"

namespace w::net {

namespace {

// Resolves the host before lws does: lws 4.1 fails a name that does not
// resolve inside lws_client_connect_via_info() without saying why, and a
// user needs "unknown host" (permanent) told from a DNS server that did
// not answer (transient).
Status check_host(const WsUrl& where, std::string_view url) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(where.host.c_str(), nullptr, &hints, &res);
  if (res) freeaddrinfo(res);
  if (rc == 0) return {};
  const std::string why = fmt::format("connect {}: host '{}': {}", url, where.host,
                                      rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
  if (rc == EAI_NONAME || rc == EAI_NODATA || rc == EAI_ADDRFAMILY || rc == EAI_SERVICE)
    return Status(Code::kNoHost, why);
  return Status::Io(why);  // EAI_AGAIN, EAI_FAIL...: the resolver may answer later
}

// now + timeout_ms, or never for a negative timeout.
std::chrono::steady_clock::time_point deadline_after(int timeout_ms) {
  return timeout_ms < 0 ? std::chrono::steady_clock::time_point::max()
                        : std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
}

}  // namespace

struct Client::Impl {
  ClientOptions options;
  std::string url;    // as given, for the caller
  std::string shown;  // scheme, host, port and path: what messages show (a query may hold a key)
  WsUrl where;
  lws_context* ctx = nullptr;
  lws* wsi = nullptr;  // service thread only
  std::thread thread;
  int event_fd = -1;
  // Without a service thread, event_fd is written only once notify_fd()
  // was asked for: wsql's client never polls it, and the write and the
  // read back were two of a request's seven system calls.
  mutable std::atomic<bool> notify_used{false};
  lws_protocols protocols[2] = {};
  std::string protocol_name;
  SslCtx ssl_ctx;            // wss:// only; freed after the context
  std::string verify_error;  // service thread: why the certificate failed

  mutable std::mutex mu;
  std::condition_variable cv;
  // Guarded by mu:
  std::deque<Message> inbox;
  std::deque<std::string> outbox;  // each with LWS_PRE bytes of headroom
  std::deque<bool> outbox_binary;
  size_t queued_bytes = 0;
  bool established = false;
  bool is_closed = false;
  bool close_requested = false;
  bool stopping = false;
  std::string reason;  // why it closed, for close_reason()
  Status failure;      // why connecting failed, with its kind (net_client.h)

  std::string partial;  // service thread only
  // Without a thread: ends pump()'s wait at its deadline. When the timer is
  // due already as lws works out how long to sleep, lws runs it there and
  // would sleep on for its own next timer (30 s and more): so it also
  // cancels the wait. The sul comes first, for the callback to find ctx.
  struct Wake {
    lws_sorted_usec_list_t sul{};
    lws_context* ctx = nullptr;
  } wake;

  using Clock = std::chrono::steady_clock;
  /// Without a service thread: runs lws on this thread until `done()`
  /// (called under `mu`) or `deadline`; returns done().
  template <class Done>
  bool pump(Done done, Clock::time_point deadline = Clock::time_point::max());

  static int callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, size_t len);
  int on_callback(lws* w, lws_callback_reasons reason, void* user, void* in, size_t len);
  void mark_closed(Status why);
  bool signals() const { return options.service_thread || notify_used.load(); }
  void signal_fd() {
    if (!signals()) return;
    uint64_t one = 1;
    ssize_t ignored = ::write(event_fd, &one, sizeof one);
    (void)ignored;
  }
};

template <class Done>
bool Client::Impl::pump(Done done, Clock::time_point deadline) {
  while (true) {
    {
      std::lock_guard lock(mu);
      if (done()) break;
    }
    const auto now = Clock::now();
    if (now >= deadline) break;
    // lws_service() returns after one wait: for a socket, or for lws's next
    // timer, of which `wake` is the one at our deadline.
    if (deadline != Clock::time_point::max()) {
      wake.ctx = ctx;
      lws_sul_schedule(
          ctx, 0, &wake.sul,
          [](lws_sorted_usec_list_t* sul) {
            lws_cancel_service(reinterpret_cast<Wake*>(sul)->ctx);
          },
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count() + 1);
    }
    if (lws_service(ctx, 0) < 0) {
      mark_closed(Status::Io(fmt::format("{}: the connection's service failed", shown)));
      break;
    }
  }
  lws_sul_cancel(&wake.sul);
  std::lock_guard lock(mu);
  return done();
}

int Client::Impl::callback(lws* w, lws_callback_reasons reason, void* user, void* in, size_t len) {
  auto* impl = static_cast<Impl*>(lws_context_user(lws_get_context(w)));
  if (!impl) return 0;
  return impl->on_callback(w, reason, user, in, len);
}

void Client::Impl::mark_closed(Status why) {
  std::lock_guard lock(mu);
  if (!is_closed) {
    is_closed = true;
    reason = why.message();
    failure = std::move(why);
  }
  signal_fd();
  cv.notify_all();
}

int Client::Impl::on_callback(lws* w, lws_callback_reasons r, void* user, void* in, size_t len) {
  switch (r) {
    case LWS_CALLBACK_CLIENT_ESTABLISHED: {
      std::lock_guard lock(mu);
      established = true;
      cv.notify_all();
      if (!outbox.empty()) lws_callback_on_writable(w);
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
      wsi = nullptr;
      std::string why = in ? std::string(static_cast<const char*>(in),
                                         strnlen(static_cast<const char*>(in), len ? len : 256))
                           : "connection failed";
      // The server's HTTP status says more than lws's "not 101".
      const unsigned status = w ? lws_http_client_http_response(w) : 0;
      Status why_status;
      if (status != 0 && status != 101) {
        why_status = http_refusal(status, shown);
      } else if (!verify_error.empty()) {
        why_status = Status(Code::kTls, fmt::format("connect {}: {}", shown, verify_error));
      } else if (where.tls &&
                 (why.find("SSL") != std::string::npos || why.find("tls") != std::string::npos)) {
        std::string detail = openssl_errors();
        why_status =
            Status(Code::kTls, fmt::format("connect {}: TLS handshake failed ({}); does the "
                                           "server speak TLS on that port?",
                                           shown, detail.empty() ? why : detail));
      } else {
        why_status = Status::Io(fmt::format("connect {}: {}", shown, why));
      }
      mark_closed(std::move(why_status));
      return 0;
    }
    case LWS_CALLBACK_CLIENT_RECEIVE: {
      if (partial.size() + len > options.max_message) return -1;
      partial.append(static_cast<const char*>(in), len);
      if (!lws_is_final_fragment(w) || lws_remaining_packet_payload(w) != 0) return 0;
      std::lock_guard lock(mu);
      inbox.push_back({std::move(partial), lws_frame_is_binary(w) != 0});
      partial.clear();
      signal_fd();
      cv.notify_all();
      return 0;
    }
    case LWS_CALLBACK_CLIENT_WRITEABLE: {
      std::string data;
      bool binary = false;
      {
        std::lock_guard lock(mu);
        if (outbox.empty()) return close_requested ? -1 : 0;
        data = std::move(outbox.front());
        binary = outbox_binary.front();
        outbox.pop_front();
        outbox_binary.pop_front();
      }
      const size_t n = data.size() - LWS_PRE;
      if (lws_write(w, reinterpret_cast<unsigned char*>(data.data() + LWS_PRE), n,
                    binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) < static_cast<int>(n))
        return -1;
      std::lock_guard lock(mu);
      queued_bytes -= n;
      cv.notify_all();
      if (!outbox.empty() || close_requested) lws_callback_on_writable(w);
      return 0;
    }
    case LWS_CALLBACK_CLIENT_CLOSED:
      wsi = nullptr;
      // `established` is written on this thread only: no lock to read it here.
      mark_closed(Status::Io(established
                                 ? std::string("closed by the server")
                                 : fmt::format("connect {}: closed during the handshake", shown)));
      return 0;
    case LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION: {
      // in: X509_STORE_CTX*, len: OpenSSL's preverify_ok. 0 accepts.
      auto* store = static_cast<X509_STORE_CTX*>(user);
      if (len != 0 || !store) return 0;
      const int err = X509_STORE_CTX_get_error(store);
      if (options.tls.insecure) {
        X509_STORE_CTX_set_error(store, X509_V_OK);  // --insecure: accept it, as warned
        return 0;
      }
      if (verify_error.empty()) verify_error = verify_error_text(err);
      return 1;
    }
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
      // Another thread queued something or asked to close: ask for a write.
      std::lock_guard lock(mu);
      if (wsi && (!outbox.empty() || close_requested) && established) lws_callback_on_writable(wsi);
      return 0;
    }
    default:
      return 0;
  }
}

Result<std::unique_ptr<Client>> Client::connect(const std::string& url,
                                                const ClientOptions& options) {
  auto where = parse_ws_url(url);
  if (!where.ok()) return where.status();
  W_RETURN_IF_ERROR(check_host(*where, where->origin()));
  std::unique_ptr<Client> client(new Client());
  client->impl_ = std::make_unique<Impl>();
  Impl& m = *client->impl_;
  m.options = options;
  m.url = url;
  m.where = *where;
  m.shown = m.where.origin() + m.where.path.substr(0, m.where.path.find('?'));
  m.event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (m.event_fd < 0) return errno_status("eventfd", errno);

  m.protocol_name = options.protocol.empty() ? "wkit-client" : options.protocol;
  m.protocols[0].name = m.protocol_name.c_str();
  m.protocols[0].callback = &Impl::callback;
  m.protocols[0].rx_buffer_size = size_t{64} * 1024;
  lws_set_log_level(0, nullptr);
  lws_context_creation_info info{};
  info.port = CONTEXT_PORT_NO_LISTEN;
  info.protocols = m.protocols;
  info.user = &m;
  if (m.where.tls) {
    auto ssl = client_ssl_ctx(options.tls);
    if (!ssl.ok()) return ssl.status();
    m.ssl_ctx = std::move(*ssl);
    info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.provided_client_ssl_ctx = m.ssl_ctx.get();
  }
  m.ctx = lws_create_context(&info);
  if (!m.ctx) return Status::Io("libwebsockets could not create a client context");

  lws_client_connect_info ci{};
  ci.context = m.ctx;
  ci.address = m.where.host.c_str();
  ci.port = m.where.port;
  ci.path = m.where.path.c_str();
  ci.host = m.where.host.c_str();
  ci.origin = m.where.host.c_str();
  ci.protocol = options.protocol.empty() ? nullptr : options.protocol.c_str();
  ci.pwsi = &m.wsi;
  if (m.where.tls) {
    ci.ssl_connection = LCCSCF_USE_SSL;
    // --insecure: the verify callback accepts what OpenSSL refused; the
    // host name is not compared either.
    if (options.tls.insecure) ci.ssl_connection |= LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK;
  }
  if (!lws_client_connect_via_info(&ci)) {
    lws_context_destroy(m.ctx);
    m.ctx = nullptr;
    return Status::Io(fmt::format("connect {}: could not start the connection", m.shown));
  }
  if (!options.service_thread) {
    const auto deadline =
        Impl::Clock::now() +
        std::chrono::microseconds(static_cast<int64_t>(options.connect_timeout * 1e6));
    m.pump([&] { return m.established || m.is_closed; }, deadline);
    std::lock_guard lock(m.mu);
    if (m.established) return client;
    if (m.is_closed) return m.failure;
    return Status(Code::kTimeout, fmt::format("connect {}: no answer within {:g} s", m.shown,
                                              options.connect_timeout));
  }
  m.thread = std::thread([&m] {
    while (true) {
      {
        std::lock_guard lock(m.mu);
        if (m.stopping) break;
      }
      if (lws_service(m.ctx, 0) < 0) break;
    }
  });

  std::unique_lock lock(m.mu);
  const bool done = m.cv.wait_for(lock, std::chrono::duration<double>(options.connect_timeout),
                                  [&] { return m.established || m.is_closed; });
  if (m.established) return client;
  if (done) return m.failure;
  return Status(Code::kTimeout, fmt::format("connect {}: no answer within {:g} s", m.shown,
                                            options.connect_timeout));
}

Client::~Client() {
  if (!impl_) return;
  Impl& m = *impl_;
  if (m.thread.joinable()) {
    {
      std::lock_guard lock(m.mu);
      m.stopping = true;
    }
    lws_cancel_service(m.ctx);
    m.thread.join();
  }
  if (m.ctx) lws_context_destroy(m.ctx);
  if (m.event_fd >= 0) ::close(m.event_fd);
}

// By value although this one copies: the browser's Client
// (client_emscripten.cc) keeps the string it is given.
// NOLINTNEXTLINE(performance-unnecessary-value-param)
Status Client::send(std::string data, bool binary) {
  Impl& m = *impl_;
  const bool own_thread = m.options.service_thread;
  if (!own_thread) m.pump([&] { return m.is_closed || m.queued_bytes < m.options.max_queued; });
  std::unique_lock lock(m.mu);
  m.cv.wait(lock, [&] { return m.is_closed || m.queued_bytes < m.options.max_queued; });
  if (m.is_closed)
    return Status(Code::kIo, fmt::format("{}: connection closed: {}", m.shown, m.reason));
  std::string framed(LWS_PRE, '\0');
  framed += data;
  if (!own_thread && m.wsi && m.established && m.outbox.empty() && !m.close_requested &&
      !lws_partial_buffered(m.wsi)) {
    // Nothing queued before it: written now, as far as the socket takes it
    // (lws keeps the rest and asks for a write itself), without the poll
    // of a service pass. A pipelining caller (wsql insert's window) keeps
    // the server busy while it prepares the next message.
    lock.unlock();
    auto* p = reinterpret_cast<unsigned char*>(framed.data() + LWS_PRE);
    if (lws_write(m.wsi, p, data.size(), binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT) <
        static_cast<int>(data.size()))
      m.mark_closed(Status::Io(fmt::format("{}: writing to the connection failed", m.shown)));
    return {};
  }
  m.queued_bytes += data.size();
  m.outbox.push_back(std::move(framed));
  m.outbox_binary.push_back(binary);
  lock.unlock();
  if (!own_thread) {
    // Behind others: written in the next wait (pump()), or now as far as a
    // pass of lws takes it.
    if (m.wsi) lws_callback_on_writable(m.wsi);
    if (lws_service(m.ctx, -1) < 0)
      m.mark_closed(Status::Io(fmt::format("{}: the connection's service failed", m.shown)));
  } else {
    lws_cancel_service(m.ctx);
  }
  return {};
}

Status Client::flush(int timeout_ms) {
  Impl& m = *impl_;
  const bool own_thread = m.options.service_thread;
  // Without a thread, what lws holds of a message written at once counts
  // too (on the caller's thread, so wsi may be read here).
  auto pred = [&] {
    return m.is_closed ||
           (m.outbox.empty() && (own_thread || !m.wsi || !lws_partial_buffered(m.wsi)));
  };
  const bool pumped = !own_thread && m.pump(pred, deadline_after(timeout_ms));
  std::unique_lock lock(m.mu);
  if (own_thread && timeout_ms < 0) m.cv.wait(lock, pred);
  if (own_thread ? !m.cv.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)), pred)
                 : !pumped)
    return Status(Code::kTimeout,
                  fmt::format("{}: sending took longer than {} ms", m.shown, timeout_ms));
  if (!m.outbox.empty())
    return Status(Code::kIo, fmt::format("{}: connection closed: {}", m.shown, m.reason));
  return {};
}

bool Client::try_receive(Message& message) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu);
  if (m.inbox.empty()) return false;
  message = std::move(m.inbox.front());
  m.inbox.pop_front();
  if (m.inbox.empty() && !m.is_closed && m.signals()) {
    uint64_t drained;
    ssize_t ignored = ::read(m.event_fd, &drained, sizeof drained);
    (void)ignored;
  }
  return true;
}

Result<bool> Client::receive(Message& message, int timeout_ms) {
  Impl& m = *impl_;
  {
    auto pred = [&] { return !m.inbox.empty() || m.is_closed; };
    const bool own_thread = m.options.service_thread;
    if (!own_thread && !m.pump(pred, deadline_after(timeout_ms))) return false;
    std::unique_lock lock(m.mu);
    if (own_thread && timeout_ms < 0) m.cv.wait(lock, pred);
    if (own_thread &&
        !m.cv.wait_for(lock, std::chrono::milliseconds(std::max(timeout_ms, 0)), pred))
      return false;
    if (m.inbox.empty())
      return Status(Code::kIo, fmt::format("{}: connection closed: {}", m.shown, m.reason));
  }
  return try_receive(message);
}

int Client::notify_fd() const {
  Impl& m = *impl_;
  if (!m.notify_used.exchange(true)) {
    std::lock_guard lock(m.mu);
    if (!m.inbox.empty() || m.is_closed) m.signal_fd();
  }
  return m.event_fd;
}

bool Client::closed() const {
  std::lock_guard lock(impl_->mu);
  return impl_->is_closed;
}

std::string Client::close_reason() const {
  std::lock_guard lock(impl_->mu);
  return impl_->reason;
}

void Client::close() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->close_requested = true;
  }
  if (!impl_->options.service_thread) {
    if (impl_->wsi) lws_callback_on_writable(impl_->wsi);
  } else {
    lws_cancel_service(impl_->ctx);
  }
}

}  // namespace w::net
