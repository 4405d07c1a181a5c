// Tests of the outgoing connection (delivery/remote/connection.hpp) over real loopback
// sockets, against scripted servers in a thread: what a real MTA peer will not do on
// demand (4xx greetings, replies injected after STARTTLS, silence, refused ports), plus
// the exact bytes of a dot-stuffed transaction.
#include "delivery/remote/connection.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/io/fdio.hpp"
#include "common/tls/tls.hpp"

using namespace delivery::remote;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

// A one-connection server on 127.0.0.1 that follows a script: "S:text" sends text (CRLF
// added), "C:prefix" reads one line and records it, "D" reads message data up to the
// final dot, "W" waits (reads until the client closes), "R:text" drips text (CRLF added)
// one byte every 200 ms, over and over, until the client goes.
class ScriptServer {
 public:
  explicit ScriptServer(std::vector<std::string> script) : script_(std::move(script)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    REQUIRE(::listen(fd_, 4) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptServer() {
    ::shutdown(fd_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(fd_);
  }
  // Waits until the script has run (or the client went away); returns what was read.
  std::string finish() {
    if (thread_.joinable()) thread_.join();
    return received();
  }
  std::uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard<std::mutex> g(mu_);
    return received_;
  }

 private:
  void run() {
    int c = ::accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    std::string buf;
    auto read_more = [&]() {
      char tmp[4096];
      ssize_t n = ::read(c, tmp, sizeof tmp);
      if (n <= 0) return false;
      buf.append(tmp, static_cast<std::size_t>(n));
      return true;
    };
    for (const auto& step : script_) {
      if (step.rfind("S:", 0) == 0) {
        std::string out = step.substr(2) + "\r\n";
        if (::write(c, out.data(), out.size()) < 0) break;
      } else if (step.rfind("C:", 0) == 0) {
        while (buf.find("\r\n") == std::string::npos)
          if (!read_more()) goto done;
        auto pos = buf.find("\r\n");
        record(buf.substr(0, pos + 2));
        buf.erase(0, pos + 2);
      } else if (step == "D") {
        while (buf.find("\r\n.\r\n") == std::string::npos)
          if (!read_more()) goto done;
        auto pos = buf.find("\r\n.\r\n");
        record(buf.substr(0, pos + 5));
        buf.erase(0, pos + 5);
      } else if (step == "W") {
        while (read_more()) {
        }
      } else if (step.rfind("R:", 0) == 0) {
        std::string out = step.substr(2) + "\r\n";
        for (bool go = true; go;)
          for (char ch : out) {
            if (::send(c, &ch, 1, MSG_NOSIGNAL) != 1) {
              go = false;
              break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
          }
      }
    }
  done:
    ::close(c);
  }
  void record(const std::string& s) {
    std::lock_guard<std::mutex> g(mu_);
    received_ += s;
  }

  std::vector<std::string> script_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::string received_;
};

// Records what the connection reports; sends one message when ready, then quits.
struct Recorder : Connection::Backend {
  event_base* base = nullptr;
  std::function<void(Connection&)> on_ready;
  int ready = 0;
  std::vector<Verdict> sent;
  std::optional<Verdict> failed;
  bool closed = false;
  std::string peer_when_sent;

  void connection_ready(Connection& c) override {
    ++ready;
    if (on_ready) on_ready(c);
  }
  void connection_sent(Connection& c, std::vector<Verdict> v) override {
    sent = std::move(v);
    peer_when_sent = c.peer();
  }
  void connection_etrn(Connection&, const common::smtp::Reply&) override {}
  void connection_failed(Connection&, const Verdict& why) override {
    failed = why;
    event_base_loopexit(base, nullptr);
  }
  void connection_closed(Connection&) override {
    closed = true;
    event_base_loopexit(base, nullptr);
  }
};

struct Fixture {
  common::io::EventBasePtr base = common::io::new_event_base();
  common::tls::SslCtxPtr ctx = std::move(*common::tls::client_context(false));
  Recorder rec;
  std::unique_ptr<Connection> conn;

  Fixture() { rec.base = base.get(); }
  void run(std::vector<Endpoint> eps, int timeout = 10,
           common::smtp::TlsPolicy tls = common::smtp::TlsPolicy::kMay) {
    common::smtp::SessionOptions o;
    o.helo_name = "client.example.test";
    o.tls = tls;
    conn = std::make_unique<Connection>(base.get(), rec, timeout, timeout, TlsContexts{ctx.get(), nullptr},
                                        std::move(eps), o);
    conn->start();
    timeval limit{20, 0};
    event_base_loopexit(base.get(), &limit);
    event_base_dispatch(base.get());
  }
};

Endpoint ep(std::uint16_t port, std::string host = "mx.example.test") {
  return Endpoint{std::move(host), "127.0.0.1", port};
}

// A message in a memfd, as the queue manager would pass it (LF line ends).
struct Message {
  common::io::UniqueFd fd;
  delivery::MessageRef ref;
  explicit Message(const std::string& text) {
    fd.reset(::memfd_create("test-message", MFD_CLOEXEC));
    REQUIRE(common::io::write_all(fd.get(), "ENVELOPE\n" + text).is_ok());
    std::uint64_t lines = 0;
    for (char c : text) lines += c == '\n';
    ref = delivery::MessageRef{fd.get(), 9, text.size(), lines};
  }
};

common::smtp::Transaction tx(std::vector<std::string> rcpts) {
  common::smtp::Transaction t;
  t.sender = "sender@example.org";
  t.recipients = std::move(rcpts);
  t.size = 100;
  return t;
}

}  // namespace

TEST_CASE("a transaction on the wire: dot stuffing, CRLF, one verdict per recipient, QUIT") {
  ScriptServer s({"S:220 mx.example.test ESMTP", "C:EHLO", "S:250-mx.example.test\r\n250 SIZE 1000", "C:MAIL",
                  "S:250 ok", "C:RCPT", "S:250 ok", "C:RCPT", "S:550 5.1.1 no such user", "C:DATA",
                  "S:354 go", "D", "S:250 2.0.0 queued as X", "C:QUIT", "S:221 bye"});
  Fixture f;
  Message m(".hidden\nline\n..two\nlast");
  bool sent_once = false;
  f.rec.on_ready = [&](Connection& c) {
    if (!sent_once) {
      sent_once = true;
      c.send(tx({"a@example.test", "b@example.test"}), m.ref);
    } else {
      c.quit();
    }
  };
  f.run({ep(s.port())});
  REQUIRE(f.rec.sent.size() == 2);
  CHECK(f.rec.sent[0].outcome == Outcome::kOk);
  CHECK(f.rec.sent[0].text ==
        "250 2.0.0 queued as X (host mx.example.test[127.0.0.1], in reply to end of DATA)");
  CHECK(f.rec.sent[1].outcome == Outcome::kPermanent);
  CHECK(f.rec.sent[1].status == "5.1.1");
  CHECK(f.rec.closed);
  CHECK(s.finish() ==
        "EHLO client.example.test\r\n"
        "MAIL FROM:<sender@example.org> SIZE=100\r\n"
        "RCPT TO:<a@example.test>\r\n"
        "RCPT TO:<b@example.test>\r\n"
        "DATA\r\n"
        "..hidden\r\nline\r\n...two\r\nlast\r\n.\r\n"
        "QUIT\r\n");
}

TEST_CASE("a 4xx greeting moves on to the next endpoint") {
  ScriptServer busy({"S:421 4.3.2 too busy", "W"});
  ScriptServer good({"S:220 mx2 ESMTP", "C:EHLO", "S:250 mx2", "C:QUIT", "S:221 bye"});
  Fixture f;
  f.rec.on_ready = [&](Connection& c) { c.quit(); };
  f.run({ep(busy.port(), "mx1.example.test"), ep(good.port(), "mx2.example.test")});
  CHECK(f.rec.ready == 1);
  CHECK_FALSE(f.rec.failed);
  CHECK(f.rec.closed);
  CHECK(f.conn->peer() == "mx2.example.test[127.0.0.1]:" + std::to_string(good.port()));
}

TEST_CASE("every endpoint failing reports the last reason") {
  ScriptServer refuses({"S:554 5.7.1 no service here", "C:QUIT"});
  Fixture f;
  // A port nobody listens on (bound and closed again), then a server that says 554.
  std::uint16_t dead;
  {
    ScriptServer tmp({});
    dead = tmp.port();
    common::io::UniqueFd c(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(dead);
    ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);  // lets tmp's accept return
  }
  f.run({ep(dead, "mx1.example.test"), ep(refuses.port(), "mx2.example.test")});
  REQUIRE(f.rec.failed);
  CHECK(f.rec.failed->outcome == Outcome::kTemporary);
  CHECK(f.rec.failed->text.find("554 5.7.1 no service here") == 0);
  CHECK(f.rec.failed->text.find("in reply to initial greeting") != std::string::npos);
  CHECK(f.rec.ready == 0);
  CHECK(refuses.finish() == "QUIT\r\n");  // RFC 5321 3.1: QUIT after a refusing greeting
}

TEST_CASE("connection refused") {
  std::uint16_t dead;
  {
    ScriptServer tmp({});
    dead = tmp.port();
    common::io::UniqueFd c(::socket(AF_INET, SOCK_STREAM, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(dead);
    ::connect(c.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  Fixture f;
  f.run({ep(dead)});
  REQUIRE(f.rec.failed);
  CHECK(f.rec.failed->status == "4.4.1");
  CHECK(f.rec.failed->text ==
        "connect to mx.example.test[127.0.0.1]:" + std::to_string(dead) + ": Connection refused");
}

TEST_CASE("replies injected after the STARTTLS 220 drop the connection (CVE-2011-0411)") {
  ScriptServer s({"S:220 mx ESMTP", "C:EHLO", "S:250-mx\r\n250 STARTTLS", "C:STARTTLS",
                  "S:220 go ahead\r\n250 injected", "W"});
  Fixture f;
  f.run({ep(s.port())}, 10, common::smtp::TlsPolicy::kEncrypt);
  REQUIRE(f.rec.failed);
  CHECK(f.rec.failed->text.find("data after the STARTTLS reply") != std::string::npos);
  CHECK(f.rec.ready == 0);
}

TEST_CASE("a silent server times out (RFC 5321 4.5.3.2)") {
  ScriptServer s({"S:220 mx ESMTP", "C:EHLO", "W"});
  Fixture f;
  f.run({ep(s.port())}, 1);
  REQUIRE(f.rec.failed);
  CHECK(f.rec.failed->status == "4.4.2");
  CHECK(f.rec.failed->text.find("conversation timed out while waiting for the reply to EHLO") == 0);
}

TEST_CASE("RFC 5321 4.5.3.2: a server dripping a reply byte by byte times out too") {
  // Bug: the reply timeout was the bufferevent's read timeout, which every byte
  // restarts, so a greeting dripped at 5 bytes a second never timed out.
  ScriptServer s({"R:220-mx.example.test is very slow"});
  Fixture f;
  auto t0 = std::chrono::steady_clock::now();
  f.run({ep(s.port())}, 1);
  REQUIRE(f.rec.failed);
  CHECK(f.rec.failed->status == "4.4.2");
  CHECK(f.rec.failed->text.find("conversation timed out while waiting for the initial greeting") == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
}

TEST_CASE("a reply before the end of the data decides, and the connection is dropped") {
  ScriptServer s({"S:220 mx ESMTP", "C:EHLO", "S:250 mx", "C:MAIL", "S:250 ok", "C:RCPT", "S:250 ok",
                  "C:DATA", "S:354 go", "S:552 5.3.4 message too big", "W"});
  Fixture f;
  // Large enough that the client is still sending when the 552 arrives.
  std::string big;
  for (int i = 0; i < 200000; ++i) big += "line of the message body number " + std::to_string(i) + "\n";
  Message m(big);
  f.rec.on_ready = [&](Connection& c) { c.send(tx({"a@example.test"}), m.ref); };
  f.run({ep(s.port())});
  REQUIRE(f.rec.sent.size() == 1);
  CHECK(f.rec.sent[0].outcome == Outcome::kPermanent);
  CHECK(f.rec.sent[0].status == "5.3.4");
  CHECK(f.rec.closed);
  CHECK(f.rec.ready == 1);
}
