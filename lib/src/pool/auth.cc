// Who may do what on a pool (DESIGN.md "Capabilities"): a connection's
// hello carries a capability or the shared key; what it grants is kept for
// the connection and every message is checked against the right it needs.
//
//   work    everything on /worker; a scoped one gets that campaign's tasks
//           and kernels only
//   submit  open, datasets, kernel_put naming its campaign, status, results,
//           workers, kernels
//   admin   control (cancel, pause, resume, delete), kernel_put on its own,
//           a priority above kDefaultPriority; and submit's reading (status,
//           results, workers, kernels), since whoever pauses a campaign
//           must see it
//
// A capability scoped to one campaign sees nothing of the others: status,
// workers, failures and kernels are filtered to its campaign (its scope,
// scope_of()), and what it names outside it is refused.
//
// A pool started with neither --secret nor --key grants every right to
// whoever can reach it; the key alone grants every right too.
#include <ctime>

#include <fmt/format.h>

#include "pool_server.h"

namespace w::pool {
namespace {

constexpr cap::RightName kRightNames[] = {{"work", kWork}, {"submit", kSubmit}, {"admin", kAdmin}};

Status denied(std::string_view why) {
  return {Code::kDenied, fmt::format("denied: {}", why)};
}

}  // namespace

cap::RightNames right_names() {
  return kRightNames;
}

Status PoolServer::authenticate(net::ConnId id, const std::string& key, const std::string& cap_text,
                                uint32_t need) {
  if (!verifier_.enabled()) {
    grants_[id] = cap::Capability{std::string(kService), "*", kAllRights, 0};
    server_->authenticate(id);  // lifts the limits of a connection before hello
    return {};
  }
  const std::string& text = cap_text.empty() ? key : cap_text;
  auto c = verifier_.check(text);
  if (!c.ok() && cap_text.empty())
    return denied(verifier_.has_secret()
                      ? "no valid capability (use --cap CAP or W_CAP)"
                      : "wrong or missing key (use --key, WRUN_KEY or WPOOL_KEY)");
  if (!c.ok()) return denied(c.status().message());
  if (Status s = cap::authorize(*c, need, "campaign", "", kRightNames); !s.ok())
    return denied(s.message());
  grants_[id] = std::move(*c);
  server_->authenticate(id);
  return {};
}

Status PoolServer::permit(net::ConnId id, uint32_t need, std::string_view campaign) const {
  auto it = grants_.find(id);
  if (it == grants_.end()) return denied("say hello first");
  const cap::Capability& c = it->second;
  // A connection outlives the check at hello; its capability may not.
  if (c.expires != 0 && static_cast<int64_t>(std::time(nullptr)) >= c.expires)
    return denied("the capability expired");
  if (Status s = cap::authorize(c, need, "campaign", campaign, kRightNames); !s.ok())
    return denied(s.message());
  return {};
}

Status PoolServer::permit_request(net::ConnId id, const proto::FromClient& m) const {
  uint32_t need = kSubmit;
  std::string campaign;
  // Reading needs 'submit' or 'admin': the one the capability has.
  const bool reading = std::holds_alternative<proto::StatusQuery>(m) ||
                       std::holds_alternative<proto::ResultsQuery>(m) ||
                       std::holds_alternative<proto::WorkersQuery>(m) ||
                       std::holds_alternative<proto::KernelsQuery>(m);
  if (auto it = grants_.find(id); reading && it != grants_.end() && it->second.allows(kAdmin))
    need = kAdmin;
  if (auto* open = std::get_if<proto::Open>(&m)) {
    campaign = open->name;
    // Priority decides who runs first: above the default it is an admin's
    // call, or any submitter could starve the other campaigns.
    if (open->priority > kDefaultPriority) {
      if (Status s = permit(id, kSubmit, campaign); !s.ok()) return s;
      if (Status s = permit(id, kAdmin, ""); !s.ok())
        return denied(fmt::format("a priority above {} ({}) needs the 'admin' right",
                                  kDefaultPriority, open->priority));
    }
  } else if (auto* datasets = std::get_if<proto::Datasets>(&m)) {
    if (const Campaign* c = sched_.campaign(datasets->campaign)) campaign = c->row.spec.name;
  } else if (auto* status = std::get_if<proto::StatusQuery>(&m)) {
    campaign = status->campaign;
  } else if (auto* results = std::get_if<proto::ResultsQuery>(&m)) {
    campaign = results->campaign;
  } else if (std::holds_alternative<proto::Unflag>(m)) {
    need = kAdmin;
  } else if (auto* control = std::get_if<proto::Control>(&m)) {
    need = kAdmin;
    campaign = control->campaign;
  } else if (auto* put = std::get_if<proto::KernelPut>(&m)) {
    // A submit uploads its campaign's kernel; a bare upload is an admin's.
    campaign = put->campaign;
    if (campaign.empty()) need = kAdmin;
  }
  return permit(id, need, campaign);
}

std::string PoolServer::scope_of(net::ConnId id) const {
  auto it = grants_.find(id);
  if (it == grants_.end() || it->second.object == "*") return {};
  return it->second.object;
}

std::string PoolServer::visible_campaign(net::ConnId id, const std::string& asked) const {
  auto it = grants_.find(id);
  if (!asked.empty() || it == grants_.end() || it->second.object == "*") return asked;
  return it->second.object;
}

Result<std::string> PoolServer::http_scope(const net::HttpRequest& request, uint32_t any_of) {
  if (!verifier_.enabled()) return std::string();
  std::string text = request.arg("cap");
  if (text.empty()) text = request.arg("key");
  auto c = verifier_.check(text);
  if (!c.ok()) return denied(c.status().message() + " (add ?cap=CAP)");
  // 'admin' reads what 'submit' reads (the dashboard of whoever pauses).
  if ((c->rights & (any_of | kAdmin)) == 0)
    return denied(any_of == kSubmit
                      ? "this capability lacks the 'submit' or 'admin' right"
                      : "this capability lacks the 'submit', 'admin' or 'work' right");
  return c->object == "*" ? std::string() : c->object;
}

bool PoolServer::kernel_in_scope(const std::string& sha, const std::string& scope) const {
  if (scope.empty()) return true;
  const Campaign* c = sched_.campaign(scope);
  if (!c) return false;
  const CampaignSpec& spec = c->row.spec;
  return sha == spec.kernel_sha || sha == spec.kernel_wasm;
}

}  // namespace w::pool
