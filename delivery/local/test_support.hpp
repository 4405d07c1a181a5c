// Test support for the local agent (header-only): a queue manager's submit side, a small
// thread that speaks mailbag-submit on a real socket and reads the passed files with the
// real envelope parser, and a blocking Submitter for tests that run the batch without an
// event loop, for tests whose deliveries send new messages (forwards, fan-outs,
// auto-replies).
#pragma once

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"
#include "common/ipc/socket.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/submit.hpp"
#include "delivery/local/submitter.hpp"

namespace delivery::testing {

namespace ipc = common::ipc;
using common::mail::Outcome;

// A queue manager's submit side: accepts connections, answers Hello, reads each passed
// file's envelope and message, answers SubmitDone (ok unless `refuse`).
class SubmitPeer {
 public:
  struct Got {
    common::spool::Envelope env;
    std::string message;
  };
  explicit SubmitPeer(std::string path) : path_(std::move(path)) {
    auto l = ipc::listen_unix(path_, 0600, static_cast<gid_t>(-1));
    REQUIRE(l.is_ok());
    listen_ = std::move(*l);
    thread_ = std::thread([this] { loop(); });
  }
  ~SubmitPeer() {
    stop_ = true;
    thread_.join();
  }
  std::vector<Got> got() {
    std::lock_guard<std::mutex> g(mu_);
    return got_;
  }
  std::atomic<bool> refuse{false};

 private:
  void loop() {
    while (!stop_) {
      pollfd p{listen_.get(), POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      common::io::UniqueFd c(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      serve(c.get());
    }
  }
  void serve(int c) {
    ipc::Hello h;
    h.protocol = ipc::kProtoSubmit;
    h.version = ipc::kProtoVersion;
    h.role = "queue-manager";
    (void)ipc::send_frame(c, ipc::encode_frame(h));
    for (;;) {
      auto r = ipc::recv_frame_timeout(c, 2000);
      if (!r || r->eof) return;
      auto f = ipc::parse_frame(r->data);
      if (!f || f->type != static_cast<std::uint16_t>(ipc::MsgType::kSubmit)) continue;
      auto s = ipc::decode<ipc::Submit>(*f);
      if (!s) return;
      ipc::SubmitDone d;
      d.request_id = s->request_id;
      auto pe = common::spool::read_envelope(r->fd.get());
      if (refuse || !pe) {
        d.verdict = {Outcome::kTemporary, "4.3.0", "refused by the test"};
      } else {
        Got g;
        g.env = pe->env;
        MB_CHECK(common::io::pread_upto(r->fd.get(), &g.message, pe->env.data_size,
                                        static_cast<off_t>(pe->data_offset))
                     .is_ok(),
                 "read");
        std::lock_guard<std::mutex> lock(mu_);
        got_.push_back(std::move(g));
        d.verdict = {Outcome::kOk, "2.0.0", "queued"};
        d.queue_id = pe->env.queue_id;
      }
      (void)ipc::send_frame(c, ipc::encode_frame(d));
    }
  }
  std::string path_;
  common::io::UniqueFd listen_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Got> got_;
};

// The blocking way into the queue (common/spool/submit.hpp), one file at a time: the
// batch's Submitter for tests that run without an event loop (it answers before
// submit() returns, so deliver(batch) gives the answers at once).
class BlockingSubmitter : public delivery::local::Submitter {
 public:
  BlockingSubmitter(std::string incoming, std::string sock)
      : drop_(common::io::UniqueFd(), std::move(incoming)), sock_(std::move(sock)) {}
  common::Result<common::spool::QueueFileWriter> create(const common::spool::Envelope& env) override {
    return drop_.create(env);
  }
  void submit(std::vector<common::io::UniqueFd> files, Done done) override {
    std::vector<common::Status> st;
    for (auto& f : files)
      st.push_back(
          delivery::local::submit_status(common::spool::submit_blocking(sock_, "local", f.get(), 5000)));
    done(std::move(st));
  }

 private:
  common::spool::DropDir drop_;
  std::string sock_;
};

}  // namespace delivery::testing
