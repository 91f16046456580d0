// What the browser build adds to net::Client (net_client.h): a browser
// cannot block, so instead of notify_fd() the owner registers a hook that
// runs after every WebSocket event (open, message, close) and then drains
// try_receive(). Only for code built with Emscripten.
#pragma once

#include <functional>

namespace w::net {

/// Called after each event of any Client in this Web Worker (one connection
/// per worker: the hook is global). Replaces the previous hook.
void set_client_activity_hook(std::function<void()> hook);

}  // namespace w::net
