// Implementation of the in-memory queue (see queue.hpp).
#include "queue-manager/queue.hpp"

#include "common/check.hpp"

namespace qmgr {

Queue::Entry* Queue::entry(const std::string& id) {
  auto it = msgs_.find(id);
  return it == msgs_.end() ? nullptr : &it->second;
}

Message* Queue::find(const std::string& id) {
  Entry* e = entry(id);
  return e ? e->msg.get() : nullptr;
}

const Message* Queue::find(const std::string& id) const {
  auto it = msgs_.find(id);
  return it == msgs_.end() ? nullptr : it->second.msg.get();
}

Message* Queue::insert(std::unique_ptr<Message> m) {
  // Ids come in ascending order (new messages, and recovery in id order): a hint at the
  // end makes the insert constant time.
  const std::string& id = m->id;
  auto hint = msgs_.empty() || msgs_.rbegin()->first < id ? msgs_.end() : msgs_.lower_bound(id);
  MB_CHECK(hint == msgs_.end() || hint->first != id, "queue id already in the queue");
  auto it = msgs_.emplace_hint(hint, id, Entry{});
  it->second.msg = std::move(m);
  return it->second.msg.get();
}

void Queue::remove(const std::string& id) { msgs_.erase(id); }

void Queue::make_ready(Message* m) {
  Entry* e = entry(m->id);
  MB_CHECK(e != nullptr, "make_ready of unknown message");
  e->where = Where::kReady;
  e->generation = next_generation_++;
  m->scheduled = true;
  ready_.push_back(Ref{m->id, e->generation});
}

void Queue::defer(Message* m) {
  Entry* e = entry(m->id);
  MB_CHECK(e != nullptr, "defer of unknown message");
  e->where = Where::kDeferred;
  e->generation = next_generation_++;
  m->scheduled = true;
  deferred_.emplace(m->next_try, Ref{m->id, e->generation});
}

std::optional<std::int64_t> Queue::wake(std::int64_t now) {
  while (!deferred_.empty()) {
    auto it = deferred_.begin();
    Entry* e = entry(it->second.id);
    bool live = e && e->where == Where::kDeferred && e->generation == it->second.generation;
    if (!live) {
      deferred_.erase(it);
      continue;
    }
    if (it->first > now) return it->first;
    Message* m = e->msg.get();
    deferred_.erase(it);
    make_ready(m);
  }
  return std::nullopt;
}

Message* Queue::pop_ready() {
  while (!ready_.empty()) {
    Ref r = std::move(ready_.front());
    ready_.pop_front();
    Entry* e = entry(r.id);
    if (!e || e->where != Where::kReady || e->generation != r.generation) continue;
    e->where = Where::kNowhere;
    e->msg->scheduled = false;
    return e->msg.get();
  }
  return nullptr;
}

std::size_t Queue::flush(const std::function<bool(const Message&)>& match) {
  std::size_t n = 0;
  for (auto& [id, e] : msgs_) {
    if (e.where != Where::kDeferred || e.msg->hold || !match(*e.msg)) continue;
    make_ready(e.msg.get());
    ++n;
  }
  return n;
}

bool Queue::flush_one(Message* m) {
  Entry* e = entry(m->id);
  if (!e || e->where != Where::kDeferred || m->hold) return false;
  make_ready(m);
  return true;
}

void Queue::for_each(const std::function<void(const Message&)>& fn) const {
  for (const auto& [id, e] : msgs_) fn(*e.msg);
}

void Queue::for_each_after(const std::string& after, const std::function<bool(const Message&)>& fn) const {
  for (auto it = msgs_.upper_bound(after); it != msgs_.end(); ++it)
    if (!fn(*it->second.msg)) return;
}

}  // namespace qmgr
