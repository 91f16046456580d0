// One client connection to a pool's /client endpoint: hello on connect,
// then requests answered in order (w-protocol(7) "Client messages"). Used
// by every wpool client command (client.cc, submit.cc).
#pragma once

#include <memory>
#include <string>

#include "w/net_client.h"
#include "w/pool.h"
#include "w/status.h"

namespace w::pool {

class PoolClient {
 public:
  /// Connects and says hello with the options' key or capability.
  static Result<std::unique_ptr<PoolClient>> connect(const ClientOptions& o);

  /// Sends one request and waits for its answer; an "error" answer becomes a Status.
  Result<std::string> request(std::string message);
  Status send(std::string message);
  /// The next answer (120 s at most); an "error" answer becomes a Status
  /// (kNotFound, kDenied or kInvalid, by its code).
  Result<std::string> answer();

 private:
  explicit PoolClient(std::unique_ptr<net::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<net::Client> client_;
};

/// The whole of a (kernel) file.
Result<std::string> read_file(const std::string& path);

}  // namespace w::pool
