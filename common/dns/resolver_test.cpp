// Tests of the libunbound wrapper (common/dns/resolver.hpp) against a real unbound from
// Debian, started on 127.0.0.1 and a free port with test zones (MX, A, null MX, no MX).
// Skipped with a message when unbound is not installed.
#include "common/dns/resolver.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <thread>

using namespace common::dns;

namespace {

constexpr const char* kUnbound = "/usr/sbin/unbound";

int free_port() {
  int s = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

// A private unbound serving the test zones; stopped by its pid in the destructor.
class TestUnbound {
 public:
  TestUnbound() {
    char tmpl[] = "/tmp/mb-dns-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = free_port();
    std::string conf = dir_ + "/unbound.conf";
    std::ofstream f(conf);
    f << "server:\n"
      << "  interface: 127.0.0.1@" << port_ << "\n  port: " << port_ << "\n"
      << "  do-daemonize: no\n  chroot: \"\"\n  username: \"\"\n"
      << "  directory: \"" << dir_ << "\"\n  pidfile: \"" << dir_ << "/unbound.pid\"\n"
      << "  use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  do-ip6: no\n"
      << "  access-control: 127.0.0.0/8 allow\n"
      << "  local-zone: \"example.test.\" static\n"
      << "  local-data: \"example.test. IN MX 20 mx2.example.test.\"\n"
      << "  local-data: \"example.test. IN MX 10 mx1.example.test.\"\n"
      << "  local-data: \"mx1.example.test. IN A 127.0.0.5\"\n"
      << "  local-data: \"mx2.example.test. IN A 127.0.0.6\"\n"
      << "  local-data: \"mx2.example.test. IN AAAA ::1\"\n"
      << "  local-zone: \"nullmx.test.\" static\n"
      << "  local-data: \"nullmx.test. IN MX 0 .\"\n"
      << "  local-zone: \"nomx.test.\" static\n"
      << "  local-data: \"nomx.test. IN A 127.0.0.7\"\n"
      << "remote-control:\n  control-enable: no\n";
    f.close();
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      const char* argv[] = {kUnbound, "-d", "-c", conf.c_str(), nullptr};
      const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
      ::execve(kUnbound, const_cast<char**>(argv), const_cast<char**>(envp));
      ::_exit(127);
    }
    // Ready when it answers.
    for (int i = 0; i < 100; ++i) {
      auto r = resolve_host_blocking(forwarder(), "mx1.example.test");
      if (r.is_ok()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    stop();  // FAIL throws: the destructor will not run
    FAIL("unbound did not answer");
  }
  ~TestUnbound() { stop(); }
  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
    std::remove((dir_ + "/unbound.conf").c_str());
    std::remove((dir_ + "/unbound.pid").c_str());
    ::rmdir(dir_.c_str());
  }
  std::string forwarder() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

template <class Answer, class Start>
Answer run(const std::string& fwd, Start start) {
  auto base = common::io::new_event_base();
  std::optional<Answer> got;
  {
    auto r = Resolver::create(base.get(), fwd);
    REQUIRE(r.is_ok());
    start(**r, [&](Answer a) {
      got = std::move(a);
      event_base_loopexit(base.get(), nullptr);
    });
    timeval limit{10, 0};
    event_base_loopexit(base.get(), &limit);
    event_base_dispatch(base.get());
  }
  REQUIRE(got.has_value());
  return *got;
}

}  // namespace

TEST_CASE("Resolver against a real unbound") {
  if (::access(kUnbound, X_OK) != 0) {
    MESSAGE("skipped: unbound is not installed (apt-get install unbound)");
    return;
  }
  TestUnbound server;
  std::string fwd = server.forwarder();

  auto mx = [&](const std::string& domain) {
    return run<MxAnswer>(fwd, [&](Resolver& r, auto done) { r.lookup_mx(domain, done); });
  };
  auto addr = [&](const std::string& host, bool v6) {
    return run<AddrAnswer>(fwd, [&](Resolver& r, auto done) { r.lookup_addr(host, v6, done); });
  };

  SUBCASE("MX sorted by preference") {
    auto a = mx("example.test");
    CHECK(a.status == Lookup::kOk);
    REQUIRE(a.hosts.size() == 2);
    CHECK(a.hosts[0].host == "mx1.example.test");
    CHECK(a.hosts[0].preference == 10);
    CHECK(a.hosts[1].host == "mx2.example.test");
  }
  SUBCASE("null MX") {
    auto a = mx("nullmx.test");
    CHECK(a.status == Lookup::kOk);
    CHECK(a.null_mx);
  }
  SUBCASE("no MX records: NODATA (the caller falls back to the address)") {
    CHECK(mx("nomx.test").status == Lookup::kNoData);
    auto a = addr("nomx.test", false);
    CHECK(a.status == Lookup::kOk);
    REQUIRE(a.addrs.size() == 1);
    CHECK(a.addrs[0] == "127.0.0.7");
  }
  SUBCASE("NXDOMAIN") {
    CHECK(mx("nosuch.example.test").status == Lookup::kNxDomain);
    CHECK(addr("nosuch.example.test", false).status == Lookup::kNxDomain);
  }
  SUBCASE("A and AAAA") {
    auto a = addr("mx2.example.test", true);
    CHECK(a.status == Lookup::kOk);
    REQUIRE(a.addrs.size() == 1);
    CHECK(a.addrs[0] == "::1");
    CHECK(addr("mx1.example.test", true).status == Lookup::kNoData);
  }
  SUBCASE("blocking lookup for tools") {
    auto a = resolve_host_blocking(fwd, "mx2.example.test");
    REQUIRE(a.is_ok());
    REQUIRE(a->size() == 2);
    CHECK((*a)[0] == "127.0.0.6");  // IPv4 first
    CHECK((*a)[1] == "::1");
    CHECK(resolve_host_blocking(fwd, "192.0.2.1")->front() == "192.0.2.1");
    auto nx = resolve_host_blocking(fwd, "nosuch.example.test");
    CHECK_FALSE(nx.is_ok());
    CHECK(nx.message().find("not found") != std::string::npos);
  }
}
