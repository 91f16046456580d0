// Internals of the wsql client shared by client.cc and commands.cc.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "w/sql.h"

namespace w::sql {

/// `response` if it is a success; otherwise its error as a Status
/// ("denied: ..." with Code::kDenied, and so on; see Client::receive).
Result<std::string> check_response(std::string response);

/// One blocking HTTP/1.1 POST (msgpack body, Connection: close) to
/// t's server (TLS for https://); returns the response body whatever the
/// status, since wsql puts errors there, unless the answer is not wsql's
/// (a proxy's error page). A server that cannot be reached is retried
/// within `timeout`; the exchange itself ends within `timeout` seconds
/// and `max_bytes`.
Result<std::string> http_post(const Target& t, const std::string& path, std::string_view body,
                              double timeout, size_t max_bytes);

/// Client::connect with a bound on the size of one answer; a server that
/// cannot be reached is retried within timeout_s only if wait_for_server.
Result<std::unique_ptr<Client>> connect_client(const Target& target, double timeout_s,
                                               size_t max_message, bool wait_for_server = false);

}  // namespace w::sql
