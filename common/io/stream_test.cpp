// Tests of the plain-or-TLS Stream over a socketpair with a real event loop: plain write and
// read, the pending output reported while the peer does not read, close after flush, start_tls
// dropping what was read in clear (RFC 3207 4.2, the STARTTLS injection), and a TLS handshake
// against a client thread with a throwaway certificate made here.
#include "common/io/stream.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "common/tls/tls.hpp"

using namespace common::io;

namespace {

struct Recorder : Stream::Backend {
  int reads = 0, drained = 0, eofs = 0, errors = 0, timeouts = 0, closed = 0;
  std::string tls;
  void on_stream_read() override { ++reads; }
  void on_stream_drained() override { ++drained; }
  void on_stream_tls(const std::string& d) override { tls = d; }
  void on_stream_eof() override { ++eofs; }
  void on_stream_error(const std::string&) override { ++errors; }
  void on_stream_timeout(bool) override { ++timeouts; }
  void on_stream_closed() override { ++closed; }
};

struct Pair {
  int ours = -1, peer = -1;
  Pair() {
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    ours = sv[0];
    peer = sv[1];
    fcntl(ours, F_SETFL, fcntl(ours, F_GETFL) | O_NONBLOCK);
  }
  ~Pair() {
    if (peer >= 0) ::close(peer);
  }
};

// Runs the loop until `done` or about two seconds have passed.
template <class Pred>
bool loop_until(event_base* base, Pred done) {
  for (int i = 0; i < 400 && !done(); ++i) {
    timeval tv{0, 5000};
    event_base_loopexit(base, &tv);
    event_base_loop(base, 0);
  }
  return done();
}

std::string drain(evbuffer* b) {
  std::string s(evbuffer_get_length(b), '\0');
  evbuffer_remove(b, s.data(), s.size());
  return s;
}

std::string read_peer(int fd, std::size_t n) {
  std::string s;
  char buf[65536];
  while (s.size() < n) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r <= 0) break;
    s.append(buf, static_cast<std::size_t>(r));
  }
  return s;
}

// A self-signed P-256 certificate for "localhost" in a server context.
common::tls::SslCtxPtr test_server_ctx() {
  common::tls::PkeyPtr key(EVP_EC_gen("P-256"));
  REQUIRE(key);
  common::tls::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                             -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  common::tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  REQUIRE(ctx);
  REQUIRE(SSL_CTX_use_certificate(ctx.get(), cert.get()) == 1);
  REQUIRE(SSL_CTX_use_PrivateKey(ctx.get(), key.get()) == 1);
  return ctx;
}

// The client side on its own thread (blocking): handshake, send `line`, read `want` bytes.
struct TlsClient {
  std::thread t;
  bool ok = false;
  std::string got;
  void run(int fd, std::string line, std::size_t want) {
    t = std::thread([this, fd, line, want] {
      auto ctx = common::tls::client_context(false);
      if (!ctx) return;
      common::tls::SslPtr ssl(SSL_new(ctx->get()));
      SSL_set_fd(ssl.get(), fd);
      if (SSL_connect(ssl.get()) != 1) return;
      if (SSL_write(ssl.get(), line.data(), static_cast<int>(line.size())) <= 0) return;
      char buf[256];
      while (got.size() < want) {
        int n = SSL_read(ssl.get(), buf, sizeof buf);
        if (n <= 0) return;
        got.append(buf, static_cast<std::size_t>(n));
      }
      ok = true;
      SSL_shutdown(ssl.get());
    });
  }
  ~TlsClient() {
    if (t.joinable()) t.join();
  }
};

}  // namespace

TEST_CASE("Stream: plain write and read") {
  auto base = new_event_base();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  CHECK_FALSE(s.tls());
  s.write("220 hello\r\n");
  REQUIRE(s.flush());
  CHECK(s.pending_output() == 0);
  CHECK(read_peer(p.peer, 11) == "220 hello\r\n");
  s.set_reading(true);
  REQUIRE(::write(p.peer, "EHLO x\r\n", 8) == 8);
  REQUIRE(loop_until(base.get(), [&] { return h.reads > 0; }));
  CHECK(drain(s.input()) == "EHLO x\r\n");
  ::close(p.peer);
  p.peer = -1;
  REQUIRE(loop_until(base.get(), [&] { return h.eofs > 0; }));
  CHECK(h.errors == 0);
}

TEST_CASE("Stream: output the peer does not take is reported, then written as it reads") {
  auto base = new_event_base();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  const std::string big(1 << 20, 'x');
  s.write(big);
  REQUIRE(s.flush());
  std::size_t pending = s.pending_output();
  CHECK(pending > 0);
  CHECK(pending < big.size());
  std::thread reader([&] { CHECK(read_peer(p.peer, big.size()) == big); });
  bool done = loop_until(base.get(), [&] { return h.drained > 0; });
  reader.join();
  CHECK(done);
  CHECK(s.pending_output() == 0);
}

TEST_CASE("Stream: close after flush waits for the output") {
  auto base = new_event_base();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  s.set_reading(true);
  const std::string big(512 * 1024, 'y');
  s.write(big);
  REQUIRE(s.flush());
  s.close_after_flush();
  int turns = 0;
  loop_until(base.get(), [&] { return h.closed > 0 || ++turns > 20; });
  CHECK(h.closed == 0);  // the peer has not read yet
  std::thread reader([&] { CHECK(read_peer(p.peer, big.size()) == big); });
  bool done = loop_until(base.get(), [&] { return h.closed > 0; });
  reader.join();
  CHECK(done);
  CHECK(h.closed == 1);
  CHECK(h.drained == 0);
}

TEST_CASE("Stream: close after flush with nothing pending closes on the next loop turn") {
  auto base = new_event_base();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  s.close_after_flush();
  CHECK(h.closed == 0);  // never inside the owner's call
  CHECK(loop_until(base.get(), [&] { return h.closed > 0; }));
}

TEST_CASE("Stream: stop() ends the callbacks") {
  auto base = new_event_base();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  s.set_reading(true);
  s.close_after_flush();
  s.stop();
  REQUIRE(::write(p.peer, "x", 1) == 1);
  int turns = 0;
  loop_until(base.get(), [&] { return ++turns > 20; });
  CHECK(h.closed + h.reads + h.eofs + h.errors == 0);
}

TEST_CASE("Stream: start_tls drops the clear input, then a TLS handshake carries the session") {
  auto base = new_event_base();
  auto ctx = test_server_ctx();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(nullptr).is_ok());
  s.set_reading(true);
  // The classic injection: a command pipelined in clear behind STARTTLS.
  REQUIRE(::write(p.peer, "STARTTLS\r\nRSET\r\n", 16) == 16);
  REQUIRE(loop_until(base.get(), [&] { return s.pending_input() >= 16; }));
  s.write("220 go ahead\r\n");
  s.start_tls(ctx.get());
  CHECK(s.pending_input() == 0);  // RFC 3207 4.2: the RSET is gone
  CHECK(s.tls_pending());
  REQUIRE(s.flush());
  CHECK(read_peer(p.peer, 14) == "220 go ahead\r\n");
  int reads_before = h.reads;
  TlsClient client;
  client.run(p.peer, "EHLO tls\r\n", 8);
  REQUIRE(loop_until(base.get(), [&] { return !h.tls.empty(); }));
  CHECK(s.tls());
  CHECK_FALSE(s.handshaking());
  CHECK(s.tls_description() == h.tls);
  CHECK(h.tls.rfind("TLSv1.", 0) == 0);
  s.set_reading(true);
  REQUIRE(loop_until(base.get(), [&] { return s.pending_input() >= 10; }));
  CHECK(h.reads > reads_before);
  CHECK(drain(s.input()) == "EHLO tls\r\n");  // and only that
  s.write("250 ok\r\n");
  REQUIRE(loop_until(base.get(), [&] { return s.pending_output() == 0; }));
  client.t.join();
  CHECK(client.ok);
  CHECK(client.got == "250 ok\r\n");
  CHECK(h.errors == 0);
}

TEST_CASE("Stream: implicit TLS from the start") {
  auto base = new_event_base();
  auto ctx = test_server_ctx();
  Pair p;
  Recorder h;
  Stream s(base.get(), UniqueFd(p.ours), h);
  REQUIRE(s.start(ctx.get()).is_ok());
  CHECK(s.tls());
  CHECK(s.handshaking());
  s.set_reading(true);
  s.write("+OK ready\r\n");  // waits in the output until the handshake is done
  TlsClient client;
  client.run(p.peer, "CAPA\r\n", 11);
  REQUIRE(loop_until(base.get(), [&] { return !h.tls.empty() && s.pending_input() >= 6; }));
  CHECK(drain(s.input()) == "CAPA\r\n");
  REQUIRE(loop_until(base.get(), [&] { return s.pending_output() == 0; }));
  client.t.join();
  CHECK(client.ok);
  CHECK(client.got == "+OK ready\r\n");
}
