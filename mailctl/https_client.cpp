// Implementation of mailctl's blocking HTTPS exchange (see https_client.hpp).
// UNTRUSTED: the bytes read are only collected, bounded, for the HTTP parser.
#include "mailctl/https_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/io/unique_fd.hpp"
#include "common/net/sockaddr.hpp"
#include "common/tls/tls.hpp"

namespace mailctl {

using common::Status;

namespace {

common::Result<common::io::UniqueFd> connect_to(const std::string& ip, int port, int timeout) {
  auto addr = common::net::sockaddr_of(ip, static_cast<std::uint16_t>(port));
  if (!addr) return Status::error("not an address: " + ip);
  common::io::UniqueFd fd(::socket(addr->family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Status::sys("socket");
  // Linux applies SO_SNDTIMEO to connect(2) as well.
  timeval tv{timeout, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), addr->get(), addr->len) != 0)
    return Status::sys("connect to " + ip + ":" + std::to_string(port));
  return fd;
}

common::Result<std::string> exchange(SSL_CTX* ctx, const std::string& ip, const std::string& host, int port,
                                     const std::string& request, int timeout, std::size_t max) {
  auto fd = connect_to(ip, port, timeout);
  if (!fd) return fd.status();
  SSL* ssl = SSL_new(ctx);
  if (!ssl) return Status::error("SSL_new: " + common::tls::last_error());
  std::unique_ptr<SSL, decltype(&SSL_free)> owner(ssl, SSL_free);
  SSL_set_fd(ssl, fd->get());
  SSL_set_tlsext_host_name(ssl, host.c_str());
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (SSL_set1_host(ssl, host.c_str()) != 1) return Status::error("cannot check the certificate's name");
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  // A server that closes without close_notify has still sent its whole answer (HTTP/1.0).
  SSL_set_options(ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (SSL_connect(ssl) != 1) {
    long v = SSL_get_verify_result(ssl);
    std::string why = v != X509_V_OK
                          ? std::string("certificate not verified: ") + X509_verify_cert_error_string(v)
                          : "TLS handshake failed: " + common::tls::last_error();
    return Status::error(why + " (" + ip + ")");
  }
  if (SSL_write(ssl, request.data(), static_cast<int>(request.size())) != static_cast<int>(request.size()))
    return Status::error("cannot send the request (" + ip + ")");
  std::string out;
  char buf[16384];
  while (true) {
    int n = SSL_read(ssl, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > max) return Status::error("answer larger than " + std::to_string(max / 1024) + " KB");
      continue;
    }
    int err = SSL_get_error(ssl, n);
    if (err == SSL_ERROR_ZERO_RETURN) break;
    if (err == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
      return Status::error("timed out after " + std::to_string(timeout) + "s (" + ip + ")");
    if (!out.empty()) break;
    return Status::error("reading the answer failed (" + ip + ")");
  }
  ERR_clear_error();
  return out;
}

}  // namespace

common::Result<std::string> https_request(const std::vector<std::string>& ips, const std::string& host,
                                          int port, const std::string& request, const std::string& ca_file,
                                          int timeout_seconds, std::size_t max) {
  auto ctx = common::tls::client_context(true, ca_file);
  if (!ctx) return Status::error("no CA store: " + ctx.message());
  if (ips.empty()) return Status::error(host + " has no address");
  Status last = Status::error("no address tried");
  for (const auto& ip : ips) {
    auto r = exchange(ctx->get(), ip, host, port, request, timeout_seconds, max);
    if (r) return r;
    last = r.status();
  }
  return last;
}

}  // namespace mailctl
