#include "groups.h"

#include <algorithm>
#include <set>

#include "ids.h"

namespace w::sig {
namespace {

// Group names are ids without '-', so that "NAME-..." ids fall in them.
bool valid_group_name(std::string_view name) {
  return valid_id(name) && name.find('-') == std::string_view::npos;
}

std::string json_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& s : items) {
    if (out.size() > 1) out += ',';
    append_json_string(out, s);
  }
  out += ']';
  return out;
}

}  // namespace

std::string group_message(std::string_view type, std::string_view src, std::string_view group,
                          std::string_view payload) {
  std::string out = "{\"type\":\"";
  out += type;
  out += '"';
  if (!src.empty()) {
    out += ",\"src\":";
    append_json_string(out, src);
  }
  out += ",\"group\":";
  append_json_string(out, group);
  if (!payload.empty()) {
    out += ",\"payload\":";
    out += payload;
  }
  out += '}';
  return out;
}

void Groups::announce(const Group& g, const std::string& data, std::string_view except) {
  for (const auto& [member, away] : g.members) {
    if (away != 0 || member == except) continue;
    if (ConnId c = dir_.conn_of(member)) out_.send(c, data, false);
  }
}

bool Groups::has_connected_member(const Group& g) const {
  return std::any_of(g.members.begin(), g.members.end(),
                     [](const auto& m) { return m.second == 0; });
}

void Groups::on_connect(const std::string& id, bool prefix_member) {
  const std::string prefix_group(group_of(id));
  auto pg = groups_.find(prefix_group);
  if (prefix_member && pg != groups_.end() && !pg->second.members.count(id))
    announce(pg->second, group_message("GROUP-JOIN", id, prefix_group), id);
  auto j = joined_.find(id);
  if (j == joined_.end()) return;
  for (const std::string& name : j->second) {
    Group& g = groups_.at(name);
    g.members[id] = 0;
    g.empty_since = 0;
    announce(g, group_message("GROUP-JOIN", id, name), id);
  }
}

void Groups::on_disconnect(const std::string& id, int64_t now, bool prefix_member) {
  const std::string prefix_group(group_of(id));
  auto pg = groups_.find(prefix_group);
  if (prefix_member && pg != groups_.end() && !pg->second.members.count(id))
    announce(pg->second, group_message("GROUP-LEAVE", id, prefix_group), id);
  auto j = joined_.find(id);
  if (j == joined_.end()) return;
  for (const std::string& name : j->second) {
    Group& g = groups_.at(name);
    g.members[id] = std::max<int64_t>(now, 1);
    announce(g, group_message("GROUP-LEAVE", id, name), id);
    if (!has_connected_member(g)) g.empty_since = std::max<int64_t>(now, 1);
  }
}

bool Groups::allowed(const Message& m, const std::string& name, uint32_t right) const {
  return options_.group_secret.empty() ||
         check_group_capability(options_.group_secret, m.cap, name, right);
}

void Groups::handle(const std::string& id, const Message& m, int64_t now) {
  const std::string& name = m.group;
  if (!options_.groups) return error(id, name, "Groups are disabled");
  if (!valid_group_name(name)) return error(id, name, "Invalid group name");
  switch (m.type) {
    case Type::kGroupCreate:
      return create(id, name, m);
    case Type::kGroupJoin:
      return join(id, name, m);
    case Type::kGroupLeave:
      return leave(id, name, now);
    case Type::kGroupMembers:
      return reply_members(id, name);
    case Type::kGroupDelete: {
      auto it = groups_.find(name);
      if (it == groups_.end()) return error(id, name, "No such group");
      if (it->second.owner != id &&
          (options_.group_secret.empty() || !allowed(m, name, kRightCreate)))
        return error(id, name, "Only the owner may delete the group");
      const std::string note = group_message("GROUP-DELETE", {}, name);
      announce(it->second, note);
      if (!it->second.members.count(id))
        if (ConnId c = dir_.conn_of(id)) out_.send(c, note, false);
      return remove(name);
    }
    default:
      return;
  }
}

void Groups::create(const std::string& id, const std::string& name, const Message& m) {
  if (!allowed(m, name, kRightCreate))
    return error(id, name, "Capability required to create the group");
  if (groups_.count(name)) return error(id, name, "Group exists");
  if (groups_.size() >= options_.max_groups) return error(id, name, "Too many groups");
  auto& mine = joined_[id];
  if (mine.size() >= kMaxGroupsPerPeer) return error(id, name, "Too many groups for this peer");
  Group& g = groups_[name];
  g.owner = id;
  g.members[id] = 0;
  mine.push_back(name);
  ++stats_.created;
  reply_members(id, name);
}

void Groups::join(const std::string& id, const std::string& name, const Message& m) {
  auto it = groups_.find(name);
  if (it == groups_.end()) return error(id, name, "No such group");
  if (!allowed(m, name, kRightJoin))
    return error(id, name, "Capability required to join the group");
  Group& g = it->second;
  if (!g.members.count(id)) {
    auto& mine = joined_[id];
    if (mine.size() >= kMaxGroupsPerPeer) return error(id, name, "Too many groups for this peer");
    mine.push_back(name);
    g.members[id] = 0;
    g.empty_since = 0;
    ++stats_.joins;
    // A prefix member was announced when it connected; joining adds nothing new.
    if (group_of(id) != name) announce(g, group_message("GROUP-JOIN", id, name), id);
  }
  reply_members(id, name);
}

void Groups::leave(const std::string& id, const std::string& name, int64_t now) {
  auto it = groups_.find(name);
  if (it == groups_.end() || !it->second.members.count(id))
    return error(id, name, "Not a member of the group");
  Group& g = it->second;
  announce(g, group_message("GROUP-LEAVE", id, name));  // the leaver too: its confirmation
  g.members.erase(id);
  forget(id, name);
  ++stats_.leaves;
  if (!has_connected_member(g)) g.empty_since = std::max<int64_t>(now, 1);
}

void Groups::forget(const std::string& id, const std::string& name) {
  auto j = joined_.find(id);
  if (j == joined_.end()) return;
  std::erase(j->second, name);
  if (j->second.empty()) joined_.erase(j);
}

void Groups::remove(const std::string& name) {
  auto it = groups_.find(name);
  for (const auto& [member, away] : it->second.members) forget(member, name);
  groups_.erase(it);
  ++stats_.deleted;
}

void Groups::tick(int64_t now) {
  std::vector<std::string> dead;
  for (auto& [name, g] : groups_) {
    for (auto m = g.members.begin(); m != g.members.end();) {
      if (m->second != 0 && now - m->second >= options_.member_timeout_ms) {
        forget(m->first, name);
        m = g.members.erase(m);
      } else {
        ++m;
      }
    }
    if (g.empty_since != 0 && now - g.empty_since >= options_.group_timeout_ms)
      dead.push_back(name);
  }
  for (const auto& name : dead) remove(name);
}

std::vector<std::string> Groups::members(std::string_view group) const {
  std::vector<std::string> ids = dir_.ids_with_prefix(std::string(group) + "-");
  auto it = groups_.find(std::string(group));
  if (it == groups_.end()) return ids;
  // A peer named "G-..." that connected before G was created needed no
  // capability then; it is no member of G unless it showed one.
  std::set<std::string> all;
  for (std::string& id : ids)
    if (dir_.prefix_member(id)) all.insert(std::move(id));
  for (const auto& [member, away] : it->second.members)
    if (away == 0) all.insert(member);
  return {all.begin(), all.end()};
}

void Groups::reply_members(const std::string& id, const std::string& name) {
  if (ConnId c = dir_.conn_of(id))
    out_.send(c, group_message("GROUP-MEMBERS", {}, name, json_array(members(name))), false);
}

void Groups::error(const std::string& id, const std::string& name, std::string_view msg) {
  ++stats_.errors;
  std::string payload = "{\"msg\":";
  append_json_string(payload, msg);
  payload += '}';
  if (ConnId c = dir_.conn_of(id))
    out_.send(c, group_message("GROUP-ERROR", {}, name, payload), false);
}

}  // namespace w::sig
