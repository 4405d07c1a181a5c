// The I/O edge of the mail filters (milters) for one SMTP session: a connection to each
// configured filter (unix or inet, non-blocking, opened at the session's first stage),
// each stage of the session run through the filters in order (common/milter/client.hpp
// speaks the protocol), their changes to the message applied between filters
// (milter_edit.hpp, so each filter sees what the one before it made), and the filter's
// default action when it cannot be reached, is too slow (connect, command and content
// timeouts) or breaks the protocol, logged with the queue id. Owned by the Connection.
#pragma once

#include <event2/bufferevent.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/io/event.hpp"
#include "common/milter/client.hpp"
#include "common/milter/spec.hpp"
#include "smtpd/milter_edit.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

class Milters {
 public:
  using Done = std::function<void(MilterVerdict)>;
  // `done` gets the verdict of a stage that did not finish inside run().
  Milters(event_base* base, const std::vector<common::milter::Spec>& specs, Done done);
  ~Milters();
  Milters(const Milters&) = delete;
  Milters& operator=(const Milters&) = delete;

  // Runs one stage. The verdict when it is known at once (no filter needs asking), else
  // nullopt and `done` is called later, on a loop turn of its own.
  std::optional<MilterVerdict> run(MilterRequest req);
  // QUIT to every filter (the session ends).
  void quit();

 private:
  struct Filter {
    Milters* owner = nullptr;
    common::milter::Spec spec;
    common::milter::Client client;
    common::io::BufferEventPtr bev;
    enum class State { kNew, kConnecting, kNegotiating, kReady, kDead } state = State::kNew;
    bool tempfail = false;  // dead with default action tempfail: every stage is refused
  };

  static void read_cb(bufferevent* bev, void* f) noexcept;
  static void event_cb(bufferevent* bev, short what, void* f) noexcept;
  static void content_timeout_cb(evutil_socket_t, short, void* self) noexcept;

  void next();
  void connect(Filter& f);
  void run_stage(Filter& f);
  void flush(Filter& f);
  void check(Filter& f);
  void on_read(Filter& f);
  void on_event(Filter& f, short what);
  void outcome(Filter& f, const common::milter::Outcome& o);
  void failed(Filter& f, const std::string& why);
  void finish(MilterVerdict v);

  event_base* base_;
  Done done_;
  std::vector<std::unique_ptr<Filter>> filters_;
  MilterRequest req_;
  std::size_t cur_ = 0;
  bool busy_ = false;
  bool in_run_ = false;
  std::optional<MilterVerdict> sync_;
  bool discard_ = false;  // a filter chose discard at MAIL or RCPT
  // kMessage
  bool edited_ = false;
  common::spool::Envelope env_;
  std::string message_;
  SplitMessage split_;
  common::milter::Message msg_;
  common::io::EventPtr content_timer_;
};

}  // namespace smtpd
