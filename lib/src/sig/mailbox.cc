#include "mailbox.h"

#include <set>

namespace w::sig {

void Mailboxes::push(const std::string& dst, std::string src, std::string data, int64_t now,
                     const DropFn& dropped) {
  auto [it, created] = boxes_.try_emplace(dst);
  Box& box = it->second;
  if (created) {
    box.created = now;
    order_.emplace_back(now, dst);
  }
  bytes_ += data.size();
  ++messages_;
  box.queue.push_back(Pending{std::move(src), std::move(data)});
  if (box.queue.size() > per_id_) pop_front(dst, box, dropped);
  // Over the total: the oldest queue gives up its oldest message. A message
  // bigger than the whole budget ends up dropped itself.
  while (bytes_ > total_bytes_ && !order_.empty()) {
    auto& [when, name] = order_.front();
    auto b = boxes_.find(name);
    if (b == boxes_.end() || b->second.created != when) {
      order_.pop_front();
      continue;
    }
    std::string victim = name;  // pop_front may erase the box and its order entry
    pop_front(victim, b->second, dropped);
  }
}

void Mailboxes::pop_front(const std::string& dst, Box& box, const DropFn& dropped) {
  Pending p = std::move(box.queue.front());
  box.queue.pop_front();
  bytes_ -= p.data.size();
  --messages_;
  if (dropped) dropped(p.src, dst);
  if (box.queue.empty()) {
    if (!order_.empty() && order_.front().second == dst && order_.front().first == box.created)
      order_.pop_front();
    boxes_.erase(dst);
  }
}

std::deque<Pending> Mailboxes::take(const std::string& dst) {
  auto it = boxes_.find(dst);
  if (it == boxes_.end()) return {};
  std::deque<Pending> q = std::move(it->second.queue);
  boxes_.erase(it);
  for (const Pending& p : q) bytes_ -= p.data.size();
  messages_ -= q.size();
  return q;
}

void Mailboxes::drop_box(const std::string& dst, const DropFn& dropped) {
  auto it = boxes_.find(dst);
  std::deque<Pending> q = std::move(it->second.queue);
  boxes_.erase(it);
  std::set<std::string> told;  // one EXPIRE per sender, as the stock server does
  for (Pending& p : q) {
    bytes_ -= p.data.size();
    --messages_;
    if (dropped && told.insert(p.src).second) dropped(p.src, dst);
  }
}

void Mailboxes::expire(int64_t now, const DropFn& dropped) {
  while (!order_.empty() && now - order_.front().first >= expire_ms_) {
    auto [when, dst] = std::move(order_.front());
    order_.pop_front();
    auto it = boxes_.find(dst);
    if (it != boxes_.end() && it->second.created == when) drop_box(dst, dropped);
  }
}

}  // namespace w::sig
