// The in-memory queue: every message the queue manager owns (in id order), a ready list
// and a deferred schedule ordered by next attempt. Pure bookkeeping, no I/O. Lists may hold
// stale ids (a message removed or rescheduled); they are skipped when popped.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "queue-manager/message.hpp"

namespace qmgr {

class Queue {
 public:
  Message* find(const std::string& id);
  const Message* find(const std::string& id) const;
  bool contains(const std::string& id) const { return msgs_.count(id) != 0; }
  // Takes ownership; the message is not scheduled until make_ready() or defer().
  Message* insert(std::unique_ptr<Message> m);
  void remove(const std::string& id);

  void make_ready(Message* m);
  void defer(Message* m);  // by m->next_try
  // Moves every deferred message due at `now` to the ready list. Returns the time of the
  // earliest message still deferred.
  std::optional<std::int64_t> wake(std::int64_t now);
  // Next ready message (unscheduled by this call), or nullptr.
  Message* pop_ready();
  // Makes every deferred message that `match` accepts ready now (flush, ETRN).
  std::size_t flush(const std::function<bool(const Message&)>& match);
  // The same for one message: true if it was deferred (and not held) and is ready now.
  bool flush_one(Message* m);

  std::size_t size() const { return msgs_.size(); }
  std::size_t ready_count() const { return ready_.size(); }
  void for_each(const std::function<void(const Message&)>& fn) const;
  // The messages with ids after `after`, in id order (which is arrival order), until `fn`
  // returns false: a page of mailctl's listing costs its own length, not the queue's.
  void for_each_after(const std::string& after, const std::function<bool(const Message&)>& fn) const;

 private:
  enum class Where : std::uint8_t { kNowhere, kReady, kDeferred };
  struct Entry {
    std::unique_ptr<Message> msg;
    Where where = Where::kNowhere;
    std::uint64_t generation = 0;  // bumped on each (re)schedule; stale list entries differ
  };
  struct Ref {
    std::string id;
    std::uint64_t generation;
  };
  Entry* entry(const std::string& id);

  std::map<std::string, Entry> msgs_;  // ordered: listing pages start anywhere
  std::deque<Ref> ready_;
  std::multimap<std::int64_t, Ref> deferred_;
  std::uint64_t next_generation_ = 1;
};

}  // namespace qmgr
