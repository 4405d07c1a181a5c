// Shared by pop3d's unit tests: a temporary directory, a Maildir in it, and a recording
// SessionHost that streams messages through the real WireEncoder and opens and updates
// maildrops with the real Maildrop, synchronously (or, with `deferred`, when the test
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

class RecordingHost : public SessionHost {
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

  void send(std::string_view text) override { out.append(text); }
  void verify(const std::string& user, const std::string& password) override {
    verified.emplace_back(user, password);
  }
  void start_tls() override { ++tls_starts; }
  void open_maildrop(const std::string& path) override {
    later([this, path] {
      Maildrop::OpenError why;
      auto drop = Maildrop::open(path, &why);
      session->maildrop_opened(std::move(drop), why);
    });
  }
  void update(std::unique_ptr<Maildrop> drop) override {
    std::shared_ptr<Maildrop> d(std::move(drop));
    later([this, d]() mutable {
      auto removed = d->commit();
      d.reset();
      session->update_done(removed);
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
  void stream(common::io::UniqueFd fd, WireEncoder enc) override {
    char buf[7];  // tiny reads: chunk boundaries everywhere
    for (;;) {
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n <= 0 || enc.done()) break;
      enc.feed(std::string_view(buf, static_cast<std::size_t>(n)), out);
    }
    enc.finish(out);
    session->stream_done(common::Status::ok());
  }
  void logged_in(const std::string& address) override { logins.push_back(address); }
  void close(const SessionStats& s) override {
    closed = true;
    stats = s;
  }
  std::string take() { return std::exchange(out, {}); }
};

}  // namespace pop3d::testing
