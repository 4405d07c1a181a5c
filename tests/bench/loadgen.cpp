// Load generator for the benchmark (tests/bench/bench.py builds and runs it): drives any
// SMTP or POP3 server over TCP with many concurrent sessions from one epoll loop, so the
// client costs little CPU next to the servers it measures on the same machine.
//   smtp: S sessions, one message per transaction, recipients round-robin over a numbered
//         set, M messages per connection (smtp-source's default is 1); records the time
//         from the last byte of the DATA terminator to the 250 reply of every message.
//   pop3: S sessions; each logs in as the next user, RETRs and DELEs every message, QUITs.
// Prints one JSON object on stdout. Exit 0 when it ran (failures are counted in the JSON),
// 2 on bad usage. Not part of Mailbag: plain POSIX C++ with no project dependency.
// This file: options, the epoll loop, session start and I/O, the JSON report; the
// dialogues are in loadgen_smtp.cpp and loadgen_pop3.cpp (shared types: loadgen.hpp).
#include "loadgen.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace loadgen {

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string fmt_num(const std::string& f, long n) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f.c_str(), static_cast<int>(n));
  return buf;
}

namespace {

std::string json_escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace

void Run::error(const std::string& e) {
  if (errors.size() < 20) errors.push_back(e);
}

bool Run::work_left() const { return o.mode == "smtp" ? reserved < o.messages : next_user < o.users; }

// Registers for EPOLLOUT only while output is pending (level-triggered EPOLLIN always).
void Run::arm(Conn& c) {
  bool out_now = c.out_off < c.out.size();
  if (out_now == c.want_out) return;
  epoll_event ev{};
  ev.events = static_cast<uint32_t>(EPOLLIN) | (out_now ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
  epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
  c.want_out = out_now;
}

void Run::start(Conn& c) {
  if (!work_left()) {
    c.st = St::kDone;
    return;
  }
  c = Conn{};
  c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c.fd < 0) {
    error(std::string("socket: ") + std::strerror(errno));
    c.st = St::kDone;
    return;
  }
  int one = 1;
  setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (o.sources > 0) {
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    std::string ip = o.source_prefix + std::to_string(1 + src_next++ % o.sources);
    inet_pton(AF_INET, ip.c_str(), &src.sin_addr);
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0)
      error("bind " + ip + ": " + std::strerror(errno));
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(o.port));
  inet_pton(AF_INET, o.host.c_str(), &sa.sin_addr);
  ++connections;
  c.st = St::kConnecting;
  if (o.mode == "pop3") c.user = next_user++;
  if (o.mode == "smtp") {
    c.quota = std::min(o.per_conn, o.messages - reserved);
    reserved += c.quota;
  }
  int r = connect(c.fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  if (r != 0 && errno != EINPROGRESS) {
    fail(c, std::string("connect: ") + std::strerror(errno));
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLOUT;
  ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
  epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
}

void Run::close_conn(Conn& c) {
  if (c.fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
    close(c.fd);
  }
  c.fd = -1;
}

// A session broke: its message (smtp) counts as failed; a fresh session takes over.
void Run::fail(Conn& c, const std::string& why) {
  ++conn_errors;
  error(why);
  if (o.mode == "smtp") {
    if (c.msg >= 0) ++failed;
    reserved -= c.quota - c.sent_here;  // what this connection will not send now
    c.quota = c.sent_here;
  }
  close_conn(c);
  c.st = St::kDone;
  if (conn_errors > 1000) {  // the server is gone: stop handing out work
    reserved = o.messages;
    next_user = o.users;
  }
  start(c);
}

void Run::send(Conn& c, std::string s) {
  c.out = std::move(s);
  c.out_off = 0;
  flush(c);
}

void Run::flush(Conn& c) {
  while (c.out_off < c.out.size()) {
    ssize_t n = write(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      fail(c, std::string("write: ") + std::strerror(errno));
      return;
    }
    c.out_off += static_cast<size_t>(n);
  }
  if (c.out_off >= c.out.size() && c.st == St::kBody && c.t_eod == 0) c.t_eod = now();
  arm(c);
}

void Run::on_event(Conn& c, uint32_t events) {
  if (c.st == St::kConnecting) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail(c, std::string("connect: ") + std::strerror(err));
    c.st = St::kGreeting;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = false;
    return;
  }
  if (events & EPOLLOUT) {
    const int fd = c.fd;
    flush(c);
    if (c.fd != fd) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    const int fd = c.fd;
    char buf[65536];
    bool eof = false;
    int err = 0;
    while (true) {
      ssize_t n = read(c.fd, buf, sizeof buf);
      if (n > 0) {
        c.in.append(buf, static_cast<size_t>(n));
        if (n < static_cast<ssize_t>(sizeof buf)) break;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      eof = true;
      err = n < 0 ? errno : 0;
      break;
    }
    if (!c.in.empty()) {
      if (o.mode == "smtp")
        on_smtp(c);
      else
        on_pop(c);
    }
    if (c.fd != fd || !eof) return;  // replaced by a new session, or still open
    // A server may close right after its QUIT reply (or without it): that is fine.
    if (c.st == St::kQuit) {
      close_conn(c);
      c.st = St::kDone;
      start(c);
      return;
    }
    fail(c, err ? std::string("read: ") + std::strerror(err) : "connection closed by server");
  }
}

int Run::run() {
  ep = epoll_create1(EPOLL_CLOEXEC);
  conns.resize(static_cast<size_t>(o.sessions));
  if (o.mode == "smtp") body = make_body(o.size);
  t_start = now();
  for (auto& c : conns) start(c);
  double deadline = t_start + o.timeout;
  std::vector<epoll_event> evs(256);
  while (true) {
    bool any = false;
    for (auto& c : conns) any = any || c.st != St::kDone;
    if (!any) break;
    if (now() > deadline) {
      error("timed out after " + std::to_string(o.timeout) + " s");
      for (auto& c : conns) {
        if (c.st != St::kDone && o.mode == "smtp" && c.msg >= 0) ++failed;
        close_conn(c);
        c.st = St::kDone;
      }
      break;
    }
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 1000);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[evs[static_cast<size_t>(i)].data.u32];
      if (c.fd < 0) continue;
      on_event(c, evs[static_cast<size_t>(i)].events);
    }
  }
  if (o.mode == "smtp") failed += o.messages - next_msg;  // never started (server gone)
  return report();
}

int Run::report() {
  double end = t_last > 0 ? t_last : now();
  std::printf(
      "{\"mode\": \"%s\", \"t_start\": %.6f, \"t_end\": %.6f, \"elapsed\": %.6f, "
      "\"connections\": %ld, \"connection_errors\": %ld, ",
      o.mode.c_str(), t_start, end, end - t_start, connections, conn_errors);
  if (o.mode == "smtp") {
    std::printf(
        "\"messages\": %ld, \"ok\": %ld, \"failed\": %ld, \"size\": %ld, "
        "\"lat_p50_ms\": %.3f, \"lat_p99_ms\": %.3f, \"lat_max_ms\": %.3f, ",
        o.messages, ok, failed, o.size, pct(lat, 0.5) * 1e3, pct(lat, 0.99) * 1e3, pct(lat, 1.0) * 1e3);
  } else {
    std::printf("\"users\": %d, \"messages\": %ld, \"bytes\": %lld, ", o.users, pop_msgs, pop_bytes);
  }
  std::printf("\"errors\": [");
  for (size_t i = 0; i < errors.size(); ++i)
    std::printf("%s\"%s\"", i ? ", " : "", json_escape(errors[i]).c_str());
  std::printf("]}\n");
  return 0;
}

}  // namespace loadgen

using loadgen::Options;
using loadgen::Run;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: loadgen smtp|pop3 --host IP --port N [--sessions S] [--messages N]\n"
               "  [--size BYTES] [--per-conn M] [--rcpts R] [--rcpt-fmt FMT] [--rcpts-per-msg K]\n"
               "  [--domains D (FMT then has two %%d: n, n mod D)] [--from ADDR]\n"
               "  [--users U] [--user-fmt FMT] [--pass-fmt FMT] [--source-prefix 127.1.0.\n"
               "  --sources K] [--timeout SECONDS]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  Run r;
  Options& o = r.o;
  o.mode = argv[1];
  if (o.mode != "smtp" && o.mode != "pop3") return usage();
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--host")
      o.host = v;
    else if (k == "--port")
      o.port = std::atoi(v.c_str());
    else if (k == "--sessions")
      o.sessions = std::atoi(v.c_str());
    else if (k == "--messages")
      o.messages = std::atol(v.c_str());
    else if (k == "--size")
      o.size = std::atol(v.c_str());
    else if (k == "--per-conn")
      o.per_conn = std::max(1L, std::atol(v.c_str()));
    else if (k == "--rcpts")
      o.rcpts = std::max(1, std::atoi(v.c_str()));
    else if (k == "--rcpt-fmt")
      o.rcpt_fmt = v;
    else if (k == "--rcpts-per-msg")
      o.rcpts_per_msg = std::max(1L, std::atol(v.c_str()));
    else if (k == "--domains")
      o.domains = std::max(0, std::atoi(v.c_str()));
    else if (k == "--from")
      o.from = v;
    else if (k == "--users")
      o.users = std::atoi(v.c_str());
    else if (k == "--user-fmt")
      o.user_fmt = v;
    else if (k == "--pass-fmt")
      o.pass_fmt = v;
    else if (k == "--source-prefix")
      o.source_prefix = v;
    else if (k == "--sources")
      o.sources = std::atoi(v.c_str());
    else if (k == "--timeout")
      o.timeout = std::atof(v.c_str());
    else
      return usage();
  }
  if (o.sessions < 1) return usage();
  return r.run();
}
