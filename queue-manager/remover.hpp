// Removes finished queue files on a thread of its own. An unlink on a busy ext4 file
// system can wait a millisecond for the journal; on the event loop that stalls intake
// for everyone. Only messages without a state record go this way: their file is the only
// trace, so whether it disappears a moment later does not matter (a restart in between
// re-delivers with check_duplicates). Messages with a record are removed in order on
// the loop (file first, then record).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace qmgr {

class Remover {
 public:
  explicit Remover(int dir_fd);
  ~Remover();  // finishes the pending removals
  Remover(const Remover&) = delete;
  Remover& operator=(const Remover&) = delete;

  void remove(std::string id);

 private:
  void run();
  int dir_fd_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> ids_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace qmgr
