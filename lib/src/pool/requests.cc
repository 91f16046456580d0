// The pool's answers to client requests (w-protocol(7) "Client
// messages"): kernel uploads, opening campaigns, datasets, results pages,
// control and lists. Each takes a request proto/ has decoded and checked;
// what is left to refuse here is what only the pool's state can tell (no
// such campaign, another kernel under that name, a cancelled campaign).
//
// A submit is atomic and resumable: a client's datasets count under the
// once-key it opened the campaign with, in the transaction that stores
// them, so the count the pool answers a re-run with (`resume`) is exactly
// what it kept; and a campaign that never got a dataset is dropped when
// its submitter goes away (and at start, after a crash).
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "kernel_check.h"
#include "pool_server.h"
#include "w/diag.h"
#include "w/sha256.h"

namespace w::pool {

void PoolServer::look_up(const std::string& campaign) {
  // On a shared store a campaign made through another pool in the last
  // second is not known here yet: read the store again rather than say
  // there is no such campaign.
  if (!store_.shared() || campaign.empty() || sched_.campaign(campaign)) return;
  // At most one extra read per tick: a client naming campaigns that do not
  // exist must not turn each request into a read of every campaign.
  now_ = Clock::now();
  if (now_ - last_look_up_ < std::chrono::milliseconds(250)) return;
  last_look_up_ = now_;
  if (Status s = sched_.sync(now_); !s.ok()) diag::error("{}", s.message());
}

Status PoolServer::on_request(net::ConnId id, const proto::FromClient& m) {
  if (auto* open = std::get_if<proto::Open>(&m)) look_up(open->name);
  if (auto* q = std::get_if<proto::StatusQuery>(&m)) look_up(q->campaign);
  if (auto* q = std::get_if<proto::ResultsQuery>(&m)) look_up(q->campaign);
  if (auto* control = std::get_if<proto::Control>(&m)) look_up(control->campaign);
  if (auto* put = std::get_if<proto::KernelPut>(&m)) return on_kernel_put(id, *put);
  if (auto* open = std::get_if<proto::Open>(&m)) return on_open(id, *open);
  if (auto* datasets = std::get_if<proto::Datasets>(&m)) return on_datasets(id, *datasets);
  if (auto* q = std::get_if<proto::StatusQuery>(&m)) {
    reply(id, status_message(visible_campaign(id, q->campaign), scope_of(id)));
    return {};
  }
  if (std::holds_alternative<proto::WorkersQuery>(m)) {
    reply(id, workers_message(scope_of(id)));
    return {};
  }
  if (auto* q = std::get_if<proto::ResultsQuery>(&m)) return on_results_query(id, *q);
  if (auto* control = std::get_if<proto::Control>(&m)) return on_control(id, *control);
  if (std::holds_alternative<proto::KernelsQuery>(m)) return on_kernels(id);
  if (auto* unflag = std::get_if<proto::Unflag>(&m)) return on_unflag(id, *unflag);
  return Status::Invalid("hello sent twice");
}

Status PoolServer::on_kernel_put(net::ConnId id, const proto::KernelPut& m) {
  if (Status s = check_kernel(m.platform, m.data, options_.max_kernel); !s.ok())
    return s.with_context(fmt::format("kernel '{}'", m.name));
  const std::string data(m.data);
  const std::string sha = sha256_hex(data);
  W_RETURN_IF_ERROR(store_.put_kernel(sha, m.name, m.platform, data));
  reply_after_commit(id, proto::encode(proto::KernelStored{sha}));
  return {};
}

Status PoolServer::on_open(net::ConnId id, const proto::Open& m) {
  CampaignSpec spec;
  spec.name = m.name;
  spec.kernel_sha = m.kernel;
  spec.kernel_wasm = m.kernel_wasm;
  spec.static_data = std::string(m.static_data);
  spec.timeout_ms = m.timeout_ms;
  spec.max_attempts = m.max_attempts;
  spec.priority = m.priority;
  spec.replicas = m.replicas;
  spec.quorum = m.quorum == 0 ? spec.replicas / 2 + 1 : m.quorum;  // 0: a majority
  spec.quorum_tolerance = m.quorum_tolerance;
  spec.group = m.group;
  spec.speculate = m.speculate;
  int64_t cid;
  if (const Campaign* existing = sched_.campaign(spec.name)) {
    const Campaign& c = *existing;
    cid = c.row.id;
    if (c.row.state == "cancelled") return cancelled_error(spec.name);
    if (!spec.kernel_sha.empty() && spec.kernel_sha != c.row.spec.kernel_sha)
      return Status::Invalid(
          fmt::format("campaign '{}' exists with another kernel ({}); pick a new name", spec.name,
                      c.row.spec.kernel_sha.substr(0, 12)));
  } else {
    if (spec.kernel_sha.empty())
      return Status::NotFound(fmt::format("no campaign '{}'", spec.name));
    for (const std::string& sha : {spec.kernel_sha, spec.kernel_wasm})
      if (!sha.empty() && !store_.kernel_data(sha).ok())
        return Status::NotFound(fmt::format("kernel {} is not on the pool; add it first", sha));
    auto created = store_.create_campaign(spec);
    if (!created.ok()) return created.status();
    cid = *created;
    CampaignRow row;
    row.id = cid;
    row.spec = spec;
    row.state = "running";
    row.created = static_cast<int64_t>(std::time(nullptr));
    sched_.campaign_created(std::move(row));
    diag::info("campaign {} '{}' created", cid, spec.name);
  }
  proto::Opened opened{cid, 0, false, 0};
  if (!m.once_key.empty()) {
    // One submit per once-key at a time: two would both resume at the same
    // record and store the rest twice.
    for (const auto& [conn, sub] : submitting_)
      if (conn != id && sub.campaign == cid && sub.once_key == m.once_key)
        return Status::Invalid(
            fmt::format("once-key '{}' of campaign '{}' is being submitted by another client",
                        m.once_key, spec.name));
    auto acked = store_.once_key_acked(cid, m.once_key);
    if (!acked.ok()) return acked.status();
    // -1: recorded by an older pool, without a count. A client older than
    // resumable submits would send everything again: it is told to skip,
    // as it was before, once the key has datasets.
    opened.skip = *acked < 0 || (!m.resumable && *acked > 0);
    opened.resume = m.resumable ? std::max<int64_t>(*acked, 0) : 0;
  }
  // A connection submits to one campaign at a time; one it leaves empty goes.
  auto previous = submitting_.find(id);
  const int64_t left = previous == submitting_.end() ? 0 : previous->second.campaign;
  submitting_[id] = Submitting{cid, m.once_key};
  if (left != 0 && left != cid) drop_if_empty(left);
  auto next = store_.next_seq(cid);
  if (!next.ok()) return next.status();
  opened.next_seq = *next;
  reply_after_commit(id, proto::encode(opened));
  return {};
}

Status PoolServer::cancelled_error(const std::string& name) const {
  return Status::Invalid(fmt::format(
      "campaign '{}' was cancelled: it takes no more datasets (submit under a new name)", name));
}

void PoolServer::drop_if_empty(int64_t campaign) {
  for (const auto& [conn, sub] : submitting_)
    if (sub.campaign == campaign) return;
  sched_.drop_empty(campaign);
  if (server_ && store_.dirty()) schedule_commit();  // at load(), the caller commits
}

Status PoolServer::on_datasets(net::ConnId id, const proto::Datasets& m) {
  const Campaign* found = sched_.campaign(m.campaign);
  if (!found) return Status::NotFound("no such campaign");
  const Campaign& c = *found;
  if (c.row.state == "cancelled") return cancelled_error(c.row.spec.name);
  auto next = store_.next_seq(c.row.id);
  if (!next.ok()) return next.status();
  int64_t seq = *next;
  for (std::string_view item : m.items) {  // each one a map (proto checked)
    auto task = store_.add_task(c.row.id, seq++, item);
    if (!task.ok()) return task.status();
  }
  // Counted in the transaction that holds them: the ack and the count
  // commit together, or neither does.
  if (auto sub = submitting_.find(id);
      sub != submitting_.end() && sub->second.campaign == c.row.id && !sub->second.once_key.empty())
    W_RETURN_IF_ERROR(
        store_.add_acked(c.row.id, sub->second.once_key, static_cast<int64_t>(m.items.size())));
  sched_.tasks_added(c.row.id, static_cast<int64_t>(m.items.size()), now_);
  reply_after_commit(id,
                     proto::encode(proto::Ack{static_cast<int64_t>(m.items.size()), c.row.total}));
  return {};
}

Status PoolServer::on_results_query(net::ConnId id, const proto::ResultsQuery& m) {
  const Campaign* found = sched_.campaign(m.campaign);
  if (!found) return Status::NotFound(fmt::format("no campaign '{}'", m.campaign));
  const Campaign& c = *found;
  // `after` (the previous page's last row) makes a page an index seek;
  // `since` alone walks past that many rows, so clients send it only first.
  auto rows = store_.results(c.row.id, m.since, m.limit, m.after);
  if (!rows.ok()) return rows.status();
  std::string items;
  mp::Packer pk(items);
  for (const ResultRow& r : *rows)
    proto::append(pk, {r.task, r.seq, r.input, r.output, r.error, r.worker, r.platform, r.ms});
  reply(id, proto::encode_results_page(static_cast<uint32_t>(rows->size()), items,
                                       m.since + static_cast<int64_t>(rows->size()),
                                       rows->empty() ? m.after : rows->back().row, c.complete()));
  return {};
}

Status PoolServer::on_unflag(net::ConnId id, const proto::Unflag& m) {
  W_RETURN_IF_ERROR(sched_.unflag(m.worker, now_));
  reply_after_commit(id, proto::encode(proto::Ok{}));
  return {};
}

Status PoolServer::on_control(net::ConnId id, const proto::Control& m) {
  const Campaign* found = sched_.campaign(m.campaign);
  if (!found) return Status::NotFound(fmt::format("no campaign '{}'", m.campaign));
  const int64_t cid = found->row.id;
  if (m.action == "pause" || m.action == "resume" || m.action == "cancel") {
    const std::string state = m.action == "pause"    ? "paused"
                              : m.action == "resume" ? "running"
                                                     : "cancelled";
    W_RETURN_IF_ERROR(sched_.set_state(cid, state, now_));
  } else if (m.action == "delete") {
    W_RETURN_IF_ERROR(sched_.delete_campaign(cid, now_));
    std::erase_if(submitting_, [cid](const auto& sub) { return sub.second.campaign == cid; });
  } else {
    return Status::Invalid(fmt::format("control: action: unknown '{}'", m.action));
  }
  reply_after_commit(id, proto::encode(proto::Ok{}));
  return {};
}

Status PoolServer::on_kernels(net::ConnId id) {
  auto list = store_.kernels();
  if (!list.ok()) return list.status();
  const std::string scope = scope_of(id);
  proto::KernelList answer;
  for (auto& k : *list)  // sha256, name, platform, length(data)
    if (kernel_in_scope(k[0], scope))
      answer.items.push_back({k[0], k[1], k[2], std::strtoll(k[3].c_str(), nullptr, 10)});
  reply(id, proto::encode(answer));
  return {};
}

}  // namespace w::pool
