// wpool's client commands: status, wait, results, workers, control,
// kernels (submit is in submit.cc). Each opens one WebSocket to the pool's
// /client endpoint and talks request/response (answers come in order).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "../proto/client_messages.h"
#include "client_conn.h"
#include "w/diag.h"
#include "w/kernel_path.h"
#include "w/msgpack.h"
#include "w/net_client.h"
#include "w/pool.h"

namespace w::pool {

namespace {
// "1 worker", "2 workers": a count with its noun, plural unless it is 1.
std::string count_of(long long n, std::string_view noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}
}  // namespace

namespace {

// A msgpack map from the pool as JSON; the pool's answers are checked like
// any bytes from the network (a throw from nlohmann ends here).
Result<nlohmann::json> map_json(std::string_view msgpack) {
  std::string json;
  W_RETURN_IF_ERROR(mp::to_json(msgpack, json));
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Invalid("malformed answer from the pool");
  return j;
}

Result<nlohmann::json> fetch_status(PoolClient& pc, const std::string& campaign) {
  auto answer = pc.request(proto::encode(proto::StatusQuery{campaign}));
  if (!answer.ok()) return answer.status();
  auto st = proto::decode_status_answer(*answer);
  if (!st.ok()) return st.status();
  return map_json(st->status);
}

// Runs `fn`, turning what nlohmann throws on an answer of an unexpected
// shape into a Status (an exception must not end the client).
template <class Fn>
Status json_boundary(Fn&& fn) {
  try {
    return fn();
  } catch (const nlohmann::json::exception& e) {
    return Status::Invalid(fmt::format("malformed answer from the pool: {}", e.what()));
  }
}

std::string bar(double fraction, int width) {
  fraction = std::isfinite(fraction) ? std::clamp(fraction, 0.0, 1.0) : 0.0;
  int filled = static_cast<int>(std::lround(fraction * width));
  return std::string(static_cast<size_t>(filled), '#') +
         std::string(static_cast<size_t>(width - filled), '.');
}

// The commands' bodies past connecting, below their entry points.
Status print_status(nlohmann::json& st, const std::string& campaign, bool json);
Status wait_for(PoolClient& pc, const std::string& campaign, double timeout, bool* cancelled);
Status print_workers(const nlohmann::json& items, bool json);

}  // namespace

Status status(const ClientOptions& c, const std::string& campaign, bool json) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto st = fetch_status(**pc, campaign);
  if (!st.ok()) return st.status();
  return json_boundary([&] { return print_status(*st, campaign, json); });
}

Status wait(const ClientOptions& c, const std::string& campaign, double timeout, bool* cancelled) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  return json_boundary([&] { return wait_for(**pc, campaign, timeout, cancelled); });
}

namespace {

Status print_status(nlohmann::json& st, const std::string& campaign, bool json) {
  if (!campaign.empty() && st["campaigns"].empty())
    return Status::NotFound(fmt::format("no campaign '{}'", campaign));
  std::string out;
  if (json) {
    out = st.dump() + "\n";
  } else {
    out += fmt::format("{:<20} {:<9} {:>10} {:>8} {:>10} {:>9} {:>8}  {}\n", "CAMPAIGN", "STATE",
                       "DONE", "FAILED", "TOTAL", "RATE/s", "ETA", "PROGRESS");
    for (const auto& cj : st["campaigns"]) {
      const double total = cj["total"].get<double>();
      const double frac =
          total > 0 ? (cj["done"].get<double>() + cj["failed"].get<double>()) / total : 1.0;
      const double eta = cj["eta_s"].get<double>();
      // The pool names the state (w-protocol(7) CAMPAIGN STATES): the
      // table says what --json, /api/status and the dashboard say.
      const std::string state = cj["state"].get<std::string>();
      out += fmt::format(
          "{:<20} {:<9} {:>10} {:>8} {:>10} {:>9.0f} {:>8}  {} {:3.0f}%\n",
          cj["name"].get<std::string>(), state, cj["done"].get<int64_t>(),
          cj["failed"].get<int64_t>(), cj["total"].get<int64_t>(), cj["rate"].get<double>(),
          eta < 0 ? std::string("-") : fmt::format("{:.0f}s", eta), bar(frac, 20), frac * 100);
    }
    out += count_of(static_cast<long long>(st["workers"].size()), "worker") + " connected\n";
  }
  return stream::write_all(STDOUT_FILENO, out);
}

Status wait_for(PoolClient& pc, const std::string& campaign, double timeout, bool* cancelled) {
  using Seconds = std::chrono::duration<double>;
  const auto start = std::chrono::steady_clock::now();
  int64_t first_finished = -1;  // done + failed when the wait began
  while (true) {
    auto st = fetch_status(pc, campaign);
    if (!st.ok()) return st.status();
    if ((*st)["campaigns"].empty())
      return Status::NotFound(fmt::format("no campaign '{}'", campaign));
    const auto& cj = (*st)["campaigns"][0];
    const int64_t done = cj["done"], failed = cj["failed"], total = cj["total"];
    diag::progress(fmt::format("{} {}/{} done, {} failed",
                               bar(total ? double(done + failed) / double(total) : 1, 30), done,
                               total, failed));
    if (cj["complete"].get<bool>()) {
      diag::finish_progress();
      if (failed > 0)
        return Status(Code::kFailed, fmt::format("campaign '{}': {} of {} failed", campaign, failed,
                                                 diag::count(total, "task")));
      return {};
    }
    // Cancelled: its remaining tasks will never run, so there is nothing
    // to wait for.
    if (cj["state"] == "cancelled") {
      diag::finish_progress();
      if (cancelled) *cancelled = true;
      return Status(Code::kFailed,
                    fmt::format("campaign '{}' was cancelled with {} of {} finished", campaign,
                                done + failed, diag::count(total, "task")));
    }
    const auto now = std::chrono::steady_clock::now();
    const double waited = Seconds(now - start).count();
    if (timeout > 0 && waited >= timeout) {
      diag::finish_progress();
      return Status(Code::kTimeout,
                    fmt::format("campaign '{}' not complete after {:g} s ({} of {} done)", campaign,
                                timeout, done + failed, total));
    }
    // Poll a quarter of the time still to go, between 10 ms and 1 s: a long
    // wait costs the pool a request a second, and the end is seen within
    // ~10 ms (a benchmark's wall time includes it).
    if (first_finished < 0) first_finished = done + failed;
    double pause = std::min(1.0, 0.01 + waited / 4);  // no progress seen yet
    if (done + failed > first_finished) {
      const double rate = static_cast<double>(done + failed - first_finished) / waited;
      pause = std::clamp(static_cast<double>(total - done - failed) / rate / 4, 0.01, 1.0);
    }
    if (timeout > 0) pause = std::min(pause, std::max(0.0, timeout - waited));
    std::this_thread::sleep_for(Seconds(pause));
  }
}

}  // namespace

Status results(const ClientOptions& c, const std::string& campaign, long long since, bool follow,
               stream::Format format, int output_fd) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  stream::RecordWriter writer(output_fd, format);
  constexpr int kPage = 5000;
  int64_t after = -1;  // the last row received: the next page seeks past it
  while (true) {
    auto answer = (*pc)->request(proto::encode(proto::ResultsQuery{campaign, since, kPage, after}));
    if (!answer.ok()) return answer.status();
    auto page = proto::decode_results_page(*answer);
    if (!page.ok()) return page.status();
    for (auto item : page->items) W_RETURN_IF_ERROR(writer.write(item));
    since = page->next;
    if (page->after >= 0) after = page->after;
    if (static_cast<int>(page->items.size()) == kPage) continue;
    if (!follow || (page->complete && page->items.empty())) break;
    W_RETURN_IF_ERROR(writer.flush());
    if (page->complete) continue;  // one more page to catch results stored meanwhile
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return writer.flush();
}

Status workers(const ClientOptions& c, bool json) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto answer = (*pc)->request(proto::encode(proto::WorkersQuery{}));
  if (!answer.ok()) return answer.status();
  auto workers = proto::decode_workers_answer(*answer);
  if (!workers.ok()) return workers.status();
  auto list = map_json(workers->workers);
  if (!list.ok()) return list.status();
  return json_boundary([&] { return print_workers((*list)["items"], json); });
}

namespace {

Status print_workers(const nlohmann::json& items, bool json) {
  std::string out;
  if (json) {
    out = items.dump() + "\n";
  } else {
    out += fmt::format("{:<28} {:<16} {:<13} {:>5} {:>10} {:>9} {:>7} {:<7} {}\n", "ID", "NAME",
                       "PLATFORM", "SLOTS", "SCORE", "DONE", "FAILED", "FLAGGED", "LAST SEEN");
    for (const auto& w : items) {
      const int64_t ago = static_cast<int64_t>(std::time(nullptr)) - w["last_seen"].get<int64_t>();
      out += fmt::format(
          "{:<28} {:<16} {:<13} {:>5} {:>10.0f} {:>9} {:>7} {:<7} {}\n", w["id"].get<std::string>(),
          w["name"].get<std::string>(), w["platform"].get<std::string>(), w["slots"].get<int>(),
          w["score"].get<double>(), w["tasks_done"].get<int64_t>(),
          w["tasks_failed"].get<int64_t>(), w["flagged"].get<bool>() ? "yes" : "no",
          w["connected"].get<bool>() ? std::string("connected") : fmt::format("{}s ago", ago));
      for (const auto& e : w.value("evidence", nlohmann::json::array()))
        if (e.is_object())
          out += fmt::format("  flagged: task {} of '{}' returned {}, the quorum accepted {}\n",
                             e.value("task", int64_t{0}), e.value("campaign", std::string()),
                             e.value("output", nlohmann::json()).dump(),
                             e.value("accepted", nlohmann::json()).dump());
      const auto& q = w.value("quarantined", nlohmann::json());
      if (q.is_object() && q.value("active", false))
        out += fmt::format("  quarantined for {:.0f} more s: {}\n", q.value("seconds_left", 0.0),
                           q.value("why", std::string()));
    }
  }
  return stream::write_all(STDOUT_FILENO, out);
}

}  // namespace

Status unflag(const ClientOptions& c, const std::string& id) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto answer = (*pc)->request(proto::encode(proto::Unflag{id}));
  if (!answer.ok()) return answer.status();
  W_RETURN_IF_ERROR(proto::decode_ok(*answer).status());
  diag::info("worker '{}': flag lifted", id);
  return {};
}

Status control(const ClientOptions& c, const std::string& action, const std::string& campaign) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto answer = (*pc)->request(proto::encode(proto::Control{action, campaign}));
  if (!answer.ok()) return answer.status();
  W_RETURN_IF_ERROR(proto::decode_ok(*answer).status());
  diag::info("campaign '{}': {} done", campaign, action);
  return {};
}

Status kernel_add(const ClientOptions& c, const std::string& path, const std::string& name) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto data = read_file(path);
  if (!data.ok()) return data.status();
  const std::string kname = name.empty() ? path.substr(path.find_last_of('/') + 1) : name;
  const std::string platform = path.ends_with(".wasm") ? "wasm32" : "linux-x86_64";
  auto put = (*pc)->request(proto::encode(proto::KernelPut{kname, platform, "", *data}));
  if (!put.ok()) return put.status();
  auto stored = proto::decode_kernel_stored(*put);
  if (!stored.ok()) return stored.status();
  return stream::write_all(STDOUT_FILENO, stored->sha256 + "\n");
}

Status kernel_list(const ClientOptions& c) {
  auto pc = PoolClient::connect(c);
  if (!pc.ok()) return pc.status();
  auto answer = (*pc)->request(proto::encode(proto::KernelsQuery{}));
  if (!answer.ok()) return answer.status();
  auto list = proto::decode_kernel_list(*answer);
  if (!list.ok()) return list.status();
  std::string out =
      fmt::format("{:<64}  {:<13} {:>10}  {}\n", "SHA256", "PLATFORM", "BYTES", "NAME");
  for (const proto::KernelInfo& k : list->items)
    out += fmt::format("{:<64}  {:<13} {:>10}  {}\n", k.sha256, k.platform, k.size, k.name);
  return stream::write_all(STDOUT_FILENO, out);
}

}  // namespace w::pool
