// Core, recovery at start: the queue rebuilt from the names in spool/queue and the state
// records (the daemon lists and reads them, recovery.cpp).
//   file + record     -> the record's state (recipients already delivered stay done)
//   file, no record   -> never attempted (or finished but not yet removed): all pending,
//                        envelope read and validated from the file
//   record, no file   -> the message was finished; the record is dropped
//   invalid file      -> moved aside to spool/corrupt with a log line
// Every recipient still pending may have been delivered by an attempt the crash cut
// short: the next delivery asks the agent to check for duplicates (adopt()).
#include <unordered_map>

#include "common/log/log.hpp"
#include "common/spool/queue_id.hpp"
#include "queue-manager/core.hpp"

namespace qmgr {

namespace log = common::log;

Core::Recovered Core::recover(const std::vector<std::string>& names, std::vector<Message> records,
                              const std::vector<std::string>& bad_records, std::int64_t now) {
  Recovered out;
  std::unordered_map<std::string, Message*> by_id;
  for (auto& r : records) {
    r.has_record = true;
    by_id[r.id] = &r;
  }
  for (const auto& id : bad_records) {
    log::warn("%s: undecodable queue state record; the message is retried from its file", id.c_str());
    host_.state_erase(id);
  }
  for (const auto& name : names) {
    if (!common::spool::is_queue_id(name)) {
      host_.move_aside(name, "not a queue file name");
      ++out.damaged;
      continue;
    }
    std::unique_ptr<Message> m;
    if (auto it = by_id.find(name); it != by_id.end()) {
      m = std::make_unique<Message>(std::move(*it->second));
      by_id.erase(it);
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
  for (const auto& [id, m] : by_id) host_.state_erase(id);
  out.stale_records = by_id.size();
  if (out.damaged > 0) {
    // Their directory entries are gone: the first commit syncs.
    removals_dirty_ = true;
    host_.request_commit();
  }
  return out;
}

}  // namespace qmgr
