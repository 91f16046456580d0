// net::Client on the browser's WebSocket (<emscripten/websocket.h>), for
// wrun.wasm in a Web Worker. Replaces client_lws.cc in the browser build.
//
// The browser owns the socket and its event loop: connect() returns at once
// with the handshake pending, messages sent before it completes are queued
// and written on open, and events land in a queue that the owner drains
// with try_receive() from the activity hook (client_emscripten.h). Nothing
// here can block: receive() and flush() never wait.
//
// Lifetime: the Impl is the callbacks' userData; ~Client deletes the socket
// (which drops its JS handlers) before freeing the Impl.
#include "client_emscripten.h"

#include <emscripten/websocket.h>

#include <deque>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "w/net_client.h"

namespace w::net {
namespace {

std::function<void()>& activity_hook() {
  static std::function<void()> hook;
  return hook;
}

void notify() {
  if (activity_hook()) activity_hook()();
}

}  // namespace

struct Client::Impl {
  EMSCRIPTEN_WEBSOCKET_T ws = 0;
  bool open = false;
  bool closed = false;
  std::string reason;
  std::deque<Message> inbox;
  std::vector<Message> before_open;  // sent before the handshake finished
  size_t max_message = 0;

  Status write(const Message& m) {
    EMSCRIPTEN_RESULT r =
        m.binary ? emscripten_websocket_send_binary(ws, const_cast<char*>(m.data.data()),
                                                    static_cast<uint32_t>(m.data.size()))
                 : emscripten_websocket_send_utf8_text(ws, m.data.c_str());
    if (r != EMSCRIPTEN_RESULT_SUCCESS)
      return Status(Code::kIo, fmt::format("websocket send failed ({})", r));
    return {};
  }
};

void set_client_activity_hook(std::function<void()> hook) {
  activity_hook() = std::move(hook);
}

namespace {

EM_BOOL on_open(int, const EmscriptenWebSocketOpenEvent*, void* user) {
  auto* impl = static_cast<Client::Impl*>(user);
  impl->open = true;
  for (const Message& m : impl->before_open) (void)impl->write(m);
  impl->before_open.clear();
  notify();
  return EM_TRUE;
}

EM_BOOL on_message(int, const EmscriptenWebSocketMessageEvent* e, void* user) {
  auto* impl = static_cast<Client::Impl*>(user);
  if (impl->max_message && e->numBytes > impl->max_message) {
    emscripten_websocket_close(impl->ws, 1009, "message too big");
    return EM_TRUE;
  }
  // Text frames arrive with a terminating NUL that is not part of the message.
  uint32_t n = e->numBytes;
  if (e->isText && n > 0) --n;
  impl->inbox.push_back({std::string(reinterpret_cast<const char*>(e->data), n), !e->isText});
  notify();
  return EM_TRUE;
}

EM_BOOL on_close(int, const EmscriptenWebSocketCloseEvent* e, void* user) {
  auto* impl = static_cast<Client::Impl*>(user);
  impl->closed = true;
  impl->open = false;
  impl->reason =
      e->reason[0] ? fmt::format("{} {}", e->code, e->reason) : fmt::format("code {}", e->code);
  notify();
  return EM_TRUE;
}

}  // namespace

Result<std::unique_ptr<Client>> Client::connect(const std::string& url,
                                                const ClientOptions& options) {
  if (!emscripten_websocket_is_supported())
    return Status(Code::kIo, "this browser has no WebSocket");
  EmscriptenWebSocketCreateAttributes attrs;
  emscripten_websocket_init_create_attributes(&attrs);
  attrs.url = url.c_str();
  attrs.protocols = options.protocol.empty() ? nullptr : options.protocol.c_str();
  attrs.createOnMainThread = EM_FALSE;
  std::unique_ptr<Client> c(new Client());
  c->impl_ = std::make_unique<Impl>();
  c->impl_->max_message = options.max_message;
  c->impl_->ws = emscripten_websocket_new(&attrs);
  if (c->impl_->ws <= 0) return Status(Code::kIo, fmt::format("connect '{}': refused", url));
  Impl* impl = c->impl_.get();
  emscripten_websocket_set_onopen_callback(impl->ws, impl, on_open);
  emscripten_websocket_set_onmessage_callback(impl->ws, impl, on_message);
  emscripten_websocket_set_onclose_callback(impl->ws, impl, on_close);
  return c;
}

Client::~Client() {
  if (impl_ && impl_->ws > 0) {
    if (!impl_->closed) emscripten_websocket_close(impl_->ws, 1000, "");
    emscripten_websocket_delete(impl_->ws);
  }
}

Status Client::send(std::string data, bool binary) {
  if (impl_->closed) return Status(Code::kIo, "connection closed: " + impl_->reason);
  Message m{std::move(data), binary};
  if (!impl_->open) {
    impl_->before_open.push_back(std::move(m));
    return {};
  }
  return impl_->write(m);
}

Status Client::flush(int) {
  return {};  // the browser writes what send() handed it, in order
}

bool Client::try_receive(Message& message) {
  if (impl_->inbox.empty()) return false;
  message = std::move(impl_->inbox.front());
  impl_->inbox.pop_front();
  return true;
}

Result<bool> Client::receive(Message& message, int) {
  if (try_receive(message)) return true;
  if (impl_->closed) return Status(Code::kIo, "connection closed: " + impl_->reason);
  return false;  // cannot wait in a browser: the activity hook says when to try again
}

int Client::notify_fd() const {
  return -1;
}

bool Client::closed() const {
  return impl_->closed;
}

std::string Client::close_reason() const {
  return impl_->reason;
}

void Client::close() {
  if (!impl_->closed && impl_->ws > 0) emscripten_websocket_close(impl_->ws, 1000, "");
}

}  // namespace w::net
