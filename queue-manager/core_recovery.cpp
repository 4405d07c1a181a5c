// Core, recovery at start: the queue rebuilt from the names in spool/queue and the state
// records (the daemon lists and reads them, recovery.cpp).
//   file + record     -> the record's state (recipients already delivered stay done)
//   file, no record   -> never attempted (or finished but not yet removed): all pending,
//                        envelope read and validated from the file
//   record, no file   -> the message was finished; the record is dropped
//   invalid file      -> moved aside to spool/corrupt with a log line
// Every recipient still pending may have been delivered by an attempt the crash cut
// short: the next delivery asks the agent to check for duplicates (adopt()).
#include <algorithm>
#include <string_view>

#include "common/log/log.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

namespace log = common::log;

Core::Recovered Core::recover(std::vector<std::string> names, std::vector<std::unique_ptr<Message>> records,
                              const std::vector<std::string>& bad_records, std::int64_t now) {
  Recovered out;
  // The records are found by binary search over their ids (the database hands them over
  // in key order already): no second copy of a large queue, and no map of it.
  std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
  // The names in id order too: the oldest messages are ready first, and the queue and
  // its indexes are built in order (constant-time inserts at the end).
  std::sort(names.begin(), names.end());
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> record_of(names.size(), kNone);  // names[i] -> records[k]
  {
    // Views into the records' ids, all looked up before any record is taken or dropped.
    std::vector<std::string_view> ids;
    ids.reserve(records.size());
    for (auto& r : records) {
      r->has_record = true;
      ids.push_back(r->id);
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      auto it = std::lower_bound(ids.begin(), ids.end(), std::string_view(names[i]));
      if (it != ids.end() && *it == names[i]) record_of[i] = static_cast<std::size_t>(it - ids.begin());
    }
  }
  for (const auto& id : bad_records) {
    log::warn("%s: undecodable queue state record; the message is retried from its file", id.c_str());
    host_.state_erase(id);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (!common::spool::is_queue_id(name)) {
      host_.move_aside(name, "not a queue file name");
      ++out.damaged;
      continue;
    }
    std::unique_ptr<Message> m;
    if (record_of[i] != kNone && records[record_of[i]]) {
      m = std::move(records[record_of[i]]);
      auto size = host_.file_size(name);
      if (!size || *size != m->data_offset + m->data_size) {
        host_.state_erase(name);
        host_.move_aside(name, "size does not match its state record");
        ++out.damaged;
        continue;
      }
      ++out.from_records;
    } else {
      auto f = host_.read_queue_file(name);
      if (!f || (*f)->id != name || (*f)->rcpts.empty()) {
        host_.move_aside(name, f ? "envelope does not match its name" : f.message());
        ++out.damaged;
        continue;
      }
      m = std::move(*f);
      ++out.from_files;
    }
    adopt(std::move(m), now);
  }
  for (const auto& r : records) {
    if (!r) continue;
    host_.state_erase(r->id);
    ++out.stale_records;
  }
  if (out.damaged > 0) {
    // Their directory entries are gone: the first commit syncs.
    removals_dirty_ = true;
    host_.request_commit();
  }
  return out;
}

}  // namespace qmgr
