// One group commit of the local agent: every Deliver request that arrived in the same
// loop turn is delivered together. All message files are written to tmp/ and made
// durable, then renamed into new/ and the new/ entries made durable; only then are the
// verdicts final. Small batches fsync each file and new/; from kSyncfsMin on, one
// syncfs(2) per filesystem replaces them (each ext4 fsync is a journal commit; see
// local(8)). No socket here, so tests drive it directly.
#pragma once

#include <cstdint>
#include <vector>

#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "delivery/local/maildir.hpp"
#include "delivery/local/resolver.hpp"

namespace delivery::local {

struct Request {
  common::ipc::Deliver msg;
  common::io::UniqueFd fd;  // the queue file, read-only
};

class BatchDeliverer {
 public:
  // Files (or directories) in one batch from which syncfs replaces per-file fsync.
  static constexpr std::size_t kSyncfsMin = 4;

  BatchDeliverer(Resolver& resolver, NameGenerator& names, std::size_t syncfs_min = kSyncfsMin)
      : resolver_(resolver), names_(names), syncfs_min_(syncfs_min) {}

  // Delivers every request; returns one answer per request, in order, with one verdict
  // per recipient. Logs one maillog line per recipient. Never fails as a whole: each
  // problem becomes the verdict of the recipients it touches.
  std::vector<common::ipc::DeliverDone> deliver(std::vector<Request>& batch);

  // Drafts kept open at once; past this, files are closed after writing and re-opened
  // for fsync, so a huge batch cannot run out of descriptors.
  static constexpr std::size_t kMaxOpenDrafts = 256;

 private:
  Resolver& resolver_;
  NameGenerator& names_;
  std::size_t syncfs_min_;
};

}  // namespace delivery::local
