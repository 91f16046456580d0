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

/// One blocking HTTP/1.1 POST (msgpack body, Connection: close); returns
/// the response body whatever the status, since wsql puts errors there.
/// The whole exchange ends within `timeout` seconds and `max_bytes`.
Result<std::string> http_post(const std::string& host, int port, const std::string& path,
                              std::string_view body, double timeout, size_t max_bytes);

/// Client::connect with a bound on the size of one answer.
Result<std::unique_ptr<Client>> connect_client(const Target& target, double timeout_s,
                                               size_t max_message);

}  // namespace w::sql
