#include "client_conn.h"

#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "../proto/client_messages.h"

namespace w::pool {

Result<std::unique_ptr<PoolClient>> PoolClient::connect(const ClientOptions& o) {
  net::ClientOptions co;
  co.connect_timeout = o.timeout;
  std::string url = o.pool;
  while (!url.empty() && url.back() == '/') url.pop_back();
  net::RetryOptions retry;
  retry.give_up_after = o.retry_for;
  retry.max_delay = 5;  // someone is waiting at a terminal or in a cron job
  auto c = net::Client::connect_retrying(url + "/client", co, retry, "pool " + url);
  if (!c.ok()) {
    // Only a pool that may come back is worth the hint; a refusal or a bad
    // certificate says enough.
    if (c.status().code() != Code::kTempFail) return c.status();
    return Status(c.status().code(),
                  c.status().message() + " (is 'wpool serve' running there? set --pool or W_POOL)");
  }
  std::unique_ptr<PoolClient> pc(new PoolClient(std::move(*c)));
  auto welcome = pc->request(
      proto::encode(proto::ClientHello{proto::kProtocolVersion, "client", o.key, o.cap}));
  if (!welcome.ok()) return welcome.status();
  W_RETURN_IF_ERROR(proto::decode_welcome(*welcome).status());
  return pc;
}

Result<std::string> PoolClient::request(std::string message) {
  W_RETURN_IF_ERROR(send(std::move(message)));
  return answer();
}

Status PoolClient::send(std::string message) {
  return client_->send(std::move(message), true);
}

Result<std::string> PoolClient::answer() {
  net::Message m;
  auto got = client_->receive(m, 120000);
  if (!got.ok()) return got.status();
  if (!*got) return Status(Code::kTimeout, "the pool did not answer within 120 s");
  // An error answer becomes the Status; anything else goes to the caller,
  // who decodes the answer it expects.
  if (auto error = proto::decode_error(m.data); error.ok()) {
    const bool denied = error->code == proto::kDenied || error->message.rfind("denied", 0) == 0;
    return Status(error->code == proto::kNotFound ? Code::kNotFound
                  : denied                        ? Code::kDenied
                                                  : Code::kInvalid,
                  error->message);
  }
  return std::move(m.data);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_status(fmt::format("open '{}'", path), errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

}  // namespace w::pool
