// Helpers for smtpd's unit tests (header-only, so it stays out of libsmtpd): a Backend
// that writes real queue files (common::spool::QueueFileWriter) into a temporary drop
// directory, and an in-memory Directory with a fixed set of accounts:
//   example.test   users alice, bob, gone (disabled); alias info -> alice, bob;
//                  alias sales -> alice
//   alias.test     domain alias of example.test
//   catchall.test  catch-all (any local part)
// postmaster@ of every domain and postmaster@mx.example.test go to alice.
// The TestBackend's relay database lets the addresses in `relay_db` relay.
#pragma once

#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>

#include "common/io/fdio.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"
#include "smtpd/accounts_directory.hpp"
#include "smtpd/session.hpp"

namespace smtpd::testing {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mailbag-smtpd-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    MB_CHECK(p != nullptr, "mkdtemp");
    path_ = p;
  }
  ~TempDir() {
    ::nftw(
        path_.c_str(), [](const char* f, const struct stat*, int, struct FTW*) { return ::remove(f); }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class MemoryDirectory : public LookupDirectory {
 public:
  MemoryDirectory() {
    db.add_domain("example.test");
    db.add_domain("alias.test", "example.test");
    db.add_domain("catchall.test", "", "alice@example.test");
    db.add_user("alice@example.test");
    db.add_user("bob@example.test");
    db.add_user("gone@example.test").disabled = true;
    db.add_alias("info@example.test", {"alice@example.test", "Bob@Example.test"});
    db.add_alias("sales@example.test", {"alice@example.test"});
    rules.hostname = "mx.example.test";
    rules.postmaster_address = "alice@example.test";
  }
  common::accounts::MemoryLookup db;
  std::set<std::string> full;  // users whose mailbox is flagged full
  bool broken = false;

 protected:
  common::Result<common::accounts::Lookup*> lookup() override {
    if (broken) return common::Status::error("database unreadable");
    return static_cast<common::accounts::Lookup*>(&db);
  }
  bool mailbox_full(const std::string& user) override { return full.count(user) > 0; }
};

class TestBackend : public Backend {
 public:
  TestBackend() {
    auto fd = common::io::open_dir(tmp_.path());
    MB_CHECK(fd.is_ok(), "open temp dir");
    dir_fd_ = std::move(*fd);
  }
  Directory& directory() override { return dir; }
  common::Result<common::spool::QueueFileWriter> create_queue_file(
      const common::spool::Envelope& env) override {
    if (fail_create) return common::Status::error("injected create failure", fail_create_errno);
    return common::spool::QueueFileWriter::create(dir_fd_.get(), env);
  }
  std::int64_t now() override { return time; }
  std::string new_queue_id() override { return common::spool::new_queue_id(); }
  common::Result<bool> relay_db_allows(const std::string& ip) override {
    ++relay_db_lookups;
    if (relay_db_broken) return common::Status::error("relay database unreadable");
    return relay_db.count(ip) > 0;
  }
  // As the Server with PostgreSQL: the session waits for its lookups (Output::lookup),
  // which the test answers (answer()) when it likes.
  std::optional<LookupAnswer> lookup_now(const LookupRequest& q) override {
    if (defer_lookups) return std::nullopt;
    return Backend::lookup_now(q);
  }
  LookupAnswer answer(const LookupRequest& q) {
    return answer_lookup(q, dir, [this](const std::string& ip) { return relay_db_allows(ip); });
  }

  MemoryDirectory dir;
  std::set<std::string> relay_db;
  bool relay_db_broken = false;
  int relay_db_lookups = 0;
  bool defer_lookups = false;
  std::int64_t time = 1700000000;  // 2023-11-14T22:13:20Z
  bool fail_create = false;
  int fail_create_errno = EIO;

 private:
  TempDir tmp_;
  common::io::UniqueFd dir_fd_;
};

// The whole content of a (queue) file.
inline std::string read_all(int fd) {
  std::string out;
  for (;;) {
    std::string part;
    common::Status st = common::io::pread_upto(fd, &part, 65536, static_cast<off_t>(out.size()));
    MB_CHECK(st.is_ok(), "pread queue file");
    if (part.empty()) break;
    out += part;
  }
  return out;
}

inline SessionConfig test_config() {
  SessionConfig c;
  c.hostname = "mx.example.test";
  c.message_size_limit = 10000;
  c.max_recipients = 3;
  c.tls_available = false;
  return c;
}

inline ClientInfo test_client() { return ClientInfo{"192.0.2.7", "[192.0.2.7]"}; }

// A Session with a TestBackend that records what it writes and submits: the replies of
// each send(), the queue file, its envelope and message of the last submission.
struct SessionHarness {
  explicit SessionHarness(SessionConfig c = test_config()) : cfg(c), s(cfg, test_client(), backend) {
    take(s.start());
  }
  // Feeds bytes, returns the replies written.
  std::string send(std::string_view bytes) { return take(s.feed(bytes)); }
  std::string take(Output o) {
    if (o.close) closed = true;
    if (o.start_tls) start_tls = true;
    if (o.lookup) lookup = std::move(o.lookup);
    if (o.submit) {
      file = read_all(o.submit->fd.get());
      auto env = common::spool::read_envelope(o.submit->fd.get());
      MB_CHECK(env.is_ok(), "the session wrote an unreadable queue file");
      envelope = env->env;
      message = file.substr(env->data_offset);
      submitted_id = o.submit->queue_id;
      ++submissions;
    }
    return o.bytes;
  }
  std::string answer(common::mail::Outcome outcome, std::string status = "", std::string text = "") {
    return take(s.submit_done(common::mail::Verdict{outcome, std::move(status), std::move(text)}));
  }

  // Answers the lookup the session waits for (backend.defer_lookups).
  std::string answer_lookup() {
    MB_CHECK(lookup.has_value(), "the session asked no lookup");
    LookupRequest q = std::move(*lookup);
    lookup.reset();
    return take(s.lookup_done(backend.answer(q)));
  }

  TestBackend backend;
  SessionConfig cfg;
  Session s;
  std::optional<LookupRequest> lookup;  // the last Output::lookup
  bool closed = false, start_tls = false;
  int submissions = 0;
  std::string file, message, submitted_id;
  common::spool::Envelope envelope;
};

}  // namespace smtpd::testing
