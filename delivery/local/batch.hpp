// One group commit of the local agent: every Deliver request that arrived in the same
// loop turn is delivered together. All message files are written to tmp/, then each is
// fsync'd, all are renamed into new/, and each distinct new/ is fsync'd once; only then
// are the verdicts final. No socket here, so tests drive it directly.
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
  BatchDeliverer(Resolver& resolver, NameGenerator& names) : resolver_(resolver), names_(names) {}

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
};

}  // namespace delivery::local
