// Shared by pop3d's unit tests: a temporary directory, a Maildir in it, and a recording
// host that applies a Session's Output as the connection would: it streams messages
// through the real WireEncoder and opens and updates maildrops with the real Maildrop,
// synchronously (or, with `deferred`, when the test
// calls run_deferred(), as the server's worker threads would).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pop3d/session.hpp"

namespace pop3d::testing {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/pop3d-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

inline std::string make_maildir(const std::string& root) {
  for (const char* sub : {"", "/cur", "/new", "/tmp"}) ::mkdir((root + sub).c_str(), 0770);
  return root;
}

inline void put_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

class RecordingHost {
 public:
  std::string out;
  std::vector<std::pair<std::string, std::string>> verified;  // user, password
  std::vector<std::string> logins;
  int tls_starts = 0;
  bool closed = false;
  SessionStats stats;
  Session* session = nullptr;
  bool deferred = false;  // open_maildrop() and update() wait for run_deferred()
  std::vector<std::function<void()>> pending;

  // Does what a connection would with a session's Output.
  void apply(Output o) {
    out.append(o.bytes);
    if (o.logged_in) logins.push_back(*o.logged_in);
    if (o.verify) verified.emplace_back(o.verify->user, o.verify->password);
    if (o.start_tls) ++tls_starts;
    if (o.open_maildrop) open_maildrop(*o.open_maildrop);
    if (o.stream) stream(std::move(o.stream->fd), std::move(o.stream->encoder));
    if (o.update) update(std::move(o.update));
    if (o.close) {
      closed = true;
      stats = *o.close;
    }
  }
  void open_maildrop(const std::string& path) {
    later([this, path] {
      Maildrop::OpenError why;
      auto drop = Maildrop::open(path, &why);
      apply(session->maildrop_opened(std::move(drop), why));
    });
  }
  void update(std::unique_ptr<Maildrop> drop) {
    std::shared_ptr<Maildrop> d(std::move(drop));
    later([this, d]() mutable {
      auto removed = d->commit();
      d.reset();
      apply(session->update_done(removed));
    });
  }
  void later(std::function<void()> fn) {
    if (deferred)
      pending.push_back(std::move(fn));
    else
      fn();
  }
  void run_deferred() {
    auto p = std::exchange(pending, {});
    for (auto& fn : p) fn();
  }
  void stream(common::io::UniqueFd fd, WireEncoder enc) {
    char buf[7];  // tiny reads: chunk boundaries everywhere
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0 || enc.done()) break;
      enc.feed(std::string_view(buf, static_cast<std::size_t>(n)), out);
    }
    enc.finish(out);
    apply(session->stream_done(common::Status::ok()));
  }
  std::string take() { return std::exchange(out, {}); }
};

}  // namespace pop3d::testing
