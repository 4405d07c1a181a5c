// The remote agent's side of DKIM signing: before a message goes out, the DKIM signer
// (dkim(8), over spool/signer/sign) gets a duplicate of the queue file's descriptor and
// answers with the DKIM-Signature field to put on top, or why it signs none. The remote
// agent never sees a key.
// When signing is on (the key store lists a key: data_directory/dkim/keys, which anyone
// may read), a message waits for the signer's answer; a signer that is down, slow or
// unable to sign defers the message (4.7.0) rather than send unsigned what should be
// signed. With no key at all, nothing is asked and nothing waits.
#pragma once

#include <event2/event.h>
#include <sys/types.h>

#include <ctime>
#include <functional>
#include <memory>
#include <string>

#include "common/io/unique_fd.hpp"
#include "common/ipc/client.hpp"
#include "common/ipc/messages.hpp"
#include "common/result.hpp"

namespace delivery::remote {

class Signer {
 public:
  // How long the signer may take over one message before it is deferred.
  static constexpr int kTimeoutMs = 30 * 1000;

  Signer(event_base* base, std::string keys_file, std::string socket_path);

  // Whether any key exists, so that messages must be offered to the signer. Looks at
  // the key store's list at most once a second.
  bool wanted();

  using Done = std::function<void(common::Result<common::ipc::SignDone>)>;
  // Asks for `queue_id`'s signature; `fd` is the queue file (duplicated here). `done`
  // is called once, never from inside sign().
  void sign(const std::string& queue_id, int fd, Done done);

 private:
  event_base* base_;
  std::string keys_file_;
  common::ipc::AsyncClient client_;
  std::time_t checked_ = 0;
  bool wanted_ = false;
};

}  // namespace delivery::remote
