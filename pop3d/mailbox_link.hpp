// pop3d's connection to the POP3 mailbox process (private/pop3-mailbox): hands logged-in
// clients over (Pop3Handover with the client's descriptor), matches each answer
// (Pop3HandoverDone) to its client, and hears when a handed-over session ends
// (Pop3SessionEnded), so that pop3d counts it against its session limits until then.
// One connection, re-made every second while the mailbox process is down; a handover
// that gets no answer within kTimeoutMs, or whose connection breaks, fails as "link
// failed" (the client must then be disconnected: the mailbox process may hold it).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/io/event.hpp"
#include "common/io/lifetime.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/channel.hpp"
#include "common/ipc/messages.hpp"

namespace pop3d {

class MailboxLink {
 public:
  static constexpr int kTimeoutMs = 20000;
  // result, and whether the link failed (no answer: result is meaningless).
  using Done = std::function<void(common::ipc::HandoverResult result, bool link_failed)>;
  using Ended = std::function<void(std::uint64_t request_id)>;
  using Lost = std::function<void()>;

  MailboxLink(event_base* base, std::string socket_path, Ended on_ended, Lost on_lost,
              int timeout_ms = kTimeoutMs);
  ~MailboxLink();
  MailboxLink(const MailboxLink&) = delete;
  MailboxLink& operator=(const MailboxLink&) = delete;

  void start();
  bool connected() const { return ch_ && ch_->open() && ch_->hello_done(); }
  // Returns the request id, or 0 when the mailbox process cannot be reached now (`done`
  // is then never called and the descriptor is closed). Otherwise `done` runs once, on a
  // later loop turn.
  std::uint64_t hand_over(common::ipc::Pop3Handover h, common::io::UniqueFd fd, Done done);

 private:
  struct Pending {
    MailboxLink* owner = nullptr;
    std::uint64_t id = 0;
    Done done;
    common::io::EventPtr timer;
  };
  static void timeout_cb(evutil_socket_t, short, void* p) noexcept;
  static void retry_cb(evutil_socket_t, short, void* self) noexcept;
  bool connect();
  void on_frame(const common::ipc::FrameView& f);
  void on_closed(const common::Status& why);

  event_base* base_;
  std::string path_;
  Ended on_ended_;
  Lost on_lost_;
  int timeout_ms_;
  std::unique_ptr<common::ipc::Channel> ch_;
  common::io::EventPtr retry_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Pending>> pending_;
  std::uint64_t next_id_ = 1;
  bool down_logged_ = false;
  common::io::Lifetime life_;
};

}  // namespace pop3d
