// Unit tests for the SIGHUP reload of mailbag.conf (common/config/reload.hpp): the merge
// keeps restart-only keys, lists what changed per program, a bad file changes nothing,
// and the hooks always run.
#include "common/config/reload.hpp"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "common/io/event.hpp"

using namespace common::config;

namespace {

Config must_parse(std::string_view text) {
  auto r = parse(text, "t.conf");
  REQUIRE_MESSAGE(r.is_ok(), r.message());
  return *r;
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

struct TempFile {
  std::string path;
  TempFile() {
    char tmpl[] = "/tmp/mailbag-reload-XXXXXX";
    int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  void write(const std::string& text) const {
    FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(text.c_str(), f);
    std::fclose(f);
  }
};

}  // namespace

TEST_CASE("every restart-only key is a key") {
  for (auto k : restart_keys()) CHECK_MESSAGE(find_key(k) != nullptr, std::string(k));
  CHECK(needs_restart("smtp_listen"));
  CHECK_FALSE(needs_restart("message_size_limit"));
}

TEST_CASE("merge: a changed key applies, a restart-only key keeps its old value") {
  Config old = must_parse("smtp_listen = 127.0.0.1:25\nmessage_size_limit = 10M\n");
  Config fresh = must_parse("smtp_listen = 127.0.0.1:2525\nmessage_size_limit = 20M\n");
  ReloadDiff d = merge_reload(old, &fresh, "smtpd");
  CHECK(has(d.applied, "message_size_limit"));
  CHECK(has(d.kept, "smtp_listen"));
  CHECK(fresh.message_size_limit == 20 << 20);
  REQUIRE(fresh.smtp_listen.size() == 1);
  CHECK(fresh.smtp_listen[0] == "127.0.0.1:25");
}

TEST_CASE("merge: only the keys the program reads are listed; restart-only keys stay for all") {
  Config old = must_parse("");
  Config fresh = must_parse("queue_retry_min = 1m\npop3_listen = 127.0.0.1:1110\n");
  ReloadDiff d = merge_reload(old, &fresh, "smtpd");
  CHECK(d.applied.empty());
  CHECK(d.kept.empty());
  CHECK(fresh.queue_retry_min == 60);           // taken, smtpd simply does not read it
  CHECK(fresh.pop3_listen == old.pop3_listen);  // never moves under a running process
  Config again = must_parse("queue_retry_min = 1m\n");
  d = merge_reload(old, &again, "queue-manager");
  CHECK(d.applied == std::vector<std::string>{"queue_retry_min"});
}

TEST_CASE("merge: an unchanged file changes nothing") {
  Config old = must_parse("relay_networks = 10.0.0.0/8\n");
  Config fresh = must_parse("relay_networks = 10.0.0.0/8\n");
  ReloadDiff d = merge_reload(old, &fresh, "smtpd");
  CHECK(d.applied.empty());
  CHECK(d.kept.empty());
}

TEST_CASE("Reloader: re-reads the file, keeps it on an error, runs the hooks every time") {
  TempFile f;
  f.write("message_size_limit = 1M\nsmtp_listen = 127.0.0.1:25\n");
  auto loaded = load(f.path);
  REQUIRE(loaded.is_ok());
  Config live = *loaded;
  auto base = common::io::new_event_base();
  Reloader r(base.get(), &live, "smtpd");
  int hooks = 0;
  std::int64_t before_limit = 0;
  r.on_reload([&](const Config& before) {
    ++hooks;
    before_limit = before.message_size_limit;
  });

  f.write("message_size_limit = 2M\nsmtp_listen = 127.0.0.2:25\nrelay_networks = 10.1.0.0/16\n");
  r.reload();
  CHECK(hooks == 1);
  CHECK(before_limit == 1 << 20);
  CHECK(live.message_size_limit == 2 << 20);
  CHECK(live.relay_networks == std::vector<std::string>{"10.1.0.0/16"});
  CHECK(live.smtp_listen == std::vector<std::string>{"127.0.0.1:25"});
  CHECK(live.path == f.path);

  f.write("message_size_limit = lots\n");  // an error: nothing changes
  r.reload();
  CHECK(hooks == 2);
  CHECK(live.message_size_limit == 2 << 20);

  ::unlink(f.path.c_str());  // gone: nothing changes either
  r.reload();
  CHECK(hooks == 3);
  CHECK(live.message_size_limit == 2 << 20);
}
