// Load generator for the benchmark (tests/bench/bench.py builds and runs it): drives any
// SMTP or POP3 server over TCP with many concurrent sessions from one epoll loop, so the
// client costs little CPU next to the servers it measures on the same machine.
//   smtp: S sessions, one message per transaction, recipients round-robin over a numbered
//         set, M messages per connection (smtp-source's default is 1); records the time
//         from the last byte of the DATA terminator to the 250 reply of every message.
//   pop3: S sessions; each logs in as the next user, RETRs and DELEs every message, QUITs.
// Prints one JSON object on stdout. Exit 0 when it ran (failures are counted in the JSON),
// 2 on bad usage. Not part of Mailbag: plain POSIX C++ with no project dependency.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

double now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 25;
  int sessions = 20;
  long messages = 1000;  // smtp: total messages
  long size = 4096;      // smtp: bytes per message (headers + body)
  long per_conn = 1;     // smtp: messages per connection
  int rcpts = 100;       // smtp: recipients are rcpt_fmt % (i mod rcpts)
  std::string rcpt_fmt = "u%03d@bench.test";
  std::string from = "sender@example.net";
  std::string helo = "loadgen.example.net";
  int users = 100;  // pop3
  std::string user_fmt = "u%03d@bench.test";
  std::string pass_fmt = "pw-u%03d";
  std::string source_prefix;  // e.g. "127.1.0." -> 127.1.0.1 .. .N as source addresses
  int sources = 0;
  double timeout = 600;  // whole run
};

std::string fmt_num(const std::string& f, long n) {
  char buf[512];
  std::snprintf(buf, sizeof buf, f.c_str(), static_cast<int>(n));
  return buf;
}

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

// A body of printable 76-character lines (none starts with '.') of about `n` bytes.
std::string make_body(long n) {
  std::string body;
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  unsigned seed = 12345;
  while (static_cast<long>(body.size()) + 78 <= n) {
    for (int i = 0; i < 76; ++i) {
      seed = seed * 1103515245u + 12345u;
      body += kAlphabet[(seed >> 16) % (sizeof kAlphabet - 1)];
    }
    body += "\r\n";
  }
  if (static_cast<long>(body.size()) < n)
    body +=
        std::string(static_cast<size_t>(std::max(0L, n - static_cast<long>(body.size()) - 2)), 'x') + "\r\n";
  return body;
}

enum class St {
  kConnecting,
  kGreeting,
  kEhlo,
  kMail,
  kRcpt,
  kData,
  kBody,
  kQuit,
  kUser,
  kPass,
  kStat,
  kRetr,
  kDele,
  kDone
};

struct Conn {
  int fd = -1;
  St st = St::kDone;
  std::string in;
  size_t scan = 0;  // where to resume looking for a terminator in `in`
  std::string out;
  size_t out_off = 0;
  long msg = -1;       // smtp: message index in this transaction
  long sent_here = 0;  // smtp: transactions started on this connection
  long quota = 0;      // smtp: messages reserved for this connection
  double t_eod = 0;    // smtp: when the last byte of the DATA terminator was written
  long user = -1;      // pop3
  long count = 0, cur = 0;
  bool want_out = false;
};

struct Run {
  Options o;
  int ep = -1;
  std::vector<Conn> conns;
  std::string body;
  long next_msg = 0;   // smtp: next message index to hand out
  long reserved = 0;   // smtp: messages promised to open connections (and sent ones)
  long next_user = 0;  // pop3
  long ok = 0, failed = 0, connections = 0, conn_errors = 0;
  long pop_msgs = 0;
  long long pop_bytes = 0;
  std::vector<double> lat;
  std::vector<std::string> errors;
  double t_start = 0, t_last = 0;
  int src_next = 0;

  void error(const std::string& e) {
    if (errors.size() < 20) errors.push_back(e);
  }

  bool work_left() const { return o.mode == "smtp" ? reserved < o.messages : next_user < o.users; }

  // Registers for EPOLLOUT only while output is pending (level-triggered EPOLLIN always).
  void arm(Conn& c) {
    bool out_now = c.out_off < c.out.size();
    if (out_now == c.want_out) return;
    epoll_event ev{};
    ev.events = static_cast<uint32_t>(EPOLLIN) | (out_now ? static_cast<uint32_t>(EPOLLOUT) : 0u);
    ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
    epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
    c.want_out = out_now;
  }

  void start(Conn& c) {
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

  void close_conn(Conn& c) {
    if (c.fd >= 0) {
      epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      close(c.fd);
    }
    c.fd = -1;
  }

  // A session broke: its message (smtp) counts as failed; a fresh session takes over.
  void fail(Conn& c, const std::string& why) {
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

  void send(Conn& c, std::string s) {
    c.out = std::move(s);
    c.out_off = 0;
    flush(c);
  }

  void flush(Conn& c) {
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

  // One complete SMTP reply at the front of c.in: its code, or 0 when incomplete.
  int smtp_reply(Conn& c, std::string& text) {
    size_t pos = 0;
    while (true) {
      size_t nl = c.in.find('\n', pos);
      if (nl == std::string::npos) return 0;
      if (nl - pos < 3) return -1;
      bool last = nl - pos == 3 || nl - pos == 4 || c.in[pos + 3] == ' ';
      if (last) {
        int code = std::atoi(c.in.substr(pos, 3).c_str());
        text = c.in.substr(0, nl + 1);
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
        c.in.erase(0, nl + 1);
        return code;
      }
      pos = nl + 1;
    }
  }

  void next_transaction(Conn& c) {
    if (c.sent_here >= c.quota) {
      c.msg = -1;
      c.st = St::kQuit;
      send(c, "QUIT\r\n");
      return;
    }
    c.msg = next_msg++;
    ++c.sent_here;
    c.st = St::kMail;
    c.t_eod = 0;
    send(c, "MAIL FROM:<" + o.from + ">\r\n");
  }

  std::string message(long i) {
    std::string rcpt = fmt_num(o.rcpt_fmt, i % o.rcpts);
    std::string h = "From: <" + o.from + ">\r\nTo: <" + rcpt + ">\r\nSubject: bench message " +
                    std::to_string(i) + "\r\nMessage-ID: <" + std::to_string(i) + "." +
                    std::to_string(getpid()) + "@loadgen.example.net>\r\n" +
                    "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n\r\n";
    long want = o.size - static_cast<long>(h.size());
    if (static_cast<long>(body.size()) > want && want > 0) {
      size_t cut = body.rfind("\r\n", static_cast<size_t>(want));
      return h + body.substr(0, cut == std::string::npos ? 0 : cut + 2) + ".\r\n";
    }
    return h + body + ".\r\n";
  }

  void on_smtp(Conn& c) {
    std::string text;
    while (true) {
      int code = smtp_reply(c, text);
      if (code == 0) return;
      if (code < 0) return fail(c, "malformed reply: " + c.in.substr(0, 80));
      switch (c.st) {
        case St::kGreeting:
          if (code != 220) return fail(c, "greeting: " + text);
          c.st = St::kEhlo;
          send(c, "EHLO " + o.helo + "\r\n");
          break;
        case St::kEhlo:
          if (code != 250) return fail(c, "EHLO: " + text);
          next_transaction(c);
          break;
        case St::kMail:
          if (code != 250) return fail(c, "MAIL: " + text);
          c.st = St::kRcpt;
          send(c, "RCPT TO:<" + fmt_num(o.rcpt_fmt, c.msg % o.rcpts) + ">\r\n");
          break;
        case St::kRcpt:
          if (code != 250 && code != 251) return fail(c, "RCPT: " + text);
          c.st = St::kData;
          send(c, "DATA\r\n");
          break;
        case St::kData:
          if (code != 354) return fail(c, "DATA: " + text);
          c.st = St::kBody;
          c.t_eod = 0;
          send(c, message(c.msg));
          break;
        case St::kBody: {
          if (c.t_eod == 0) return fail(c, "reply before the end of DATA: " + text);
          double t = now();
          if (code != 250) return fail(c, "end of DATA: " + text);
          lat.push_back(t - c.t_eod);
          ++ok;
          t_last = t;
          c.msg = -1;
          next_transaction(c);
          break;
        }
        case St::kQuit:
          close_conn(c);
          c.st = St::kDone;
          start(c);
          return;
        default: return fail(c, "reply in unexpected state: " + text);
      }
      if (c.fd < 0) return;
    }
  }

  // POP3: one status line at the front of c.in ("+OK ..." / "-ERR ..."), or false.
  bool pop_line(Conn& c, std::string& line) {
    size_t nl = c.in.find('\n');
    if (nl == std::string::npos) return false;
    line = c.in.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    c.in.erase(0, nl + 1);
    c.scan = 0;
    return true;
  }

  void pop_next(Conn& c) {
    if (c.cur < c.count) {
      ++c.cur;
      c.st = St::kRetr;
      send(c, "RETR " + std::to_string(c.cur) + "\r\n");
    } else {
      c.st = St::kQuit;
      send(c, "QUIT\r\n");
    }
  }

  void on_pop(Conn& c) {
    std::string line;
    while (c.fd >= 0) {
      if (c.st == St::kRetr) {
        // "+OK ...\r\n" then the message, dot-stuffed, ending "\r\n.\r\n".
        size_t nl = c.in.find('\n');
        if (nl == std::string::npos) return;
        if (c.in.compare(0, 3, "+OK") != 0) return fail(c, "RETR: " + c.in.substr(0, nl));
        size_t from = std::max(c.scan, nl + 1);
        // The terminator is ".\r\n" at the start of a line (the status line's \n counts).
        size_t end = c.in.find("\n.\r\n", from > 0 ? from - 1 : 0);
        if (end == std::string::npos) {
          c.scan = c.in.size() > 4 ? c.in.size() - 4 : 0;
          return;
        }
        pop_bytes += static_cast<long long>(end + 1 - (nl + 1));
        ++pop_msgs;
        c.in.erase(0, end + 4);
        c.scan = 0;
        c.st = St::kDele;
        send(c, "DELE " + std::to_string(c.cur) + "\r\n");
        continue;
      }
      if (!pop_line(c, line)) return;
      bool okr = line.compare(0, 3, "+OK") == 0;
      switch (c.st) {
        case St::kGreeting:
          if (!okr) return fail(c, "greeting: " + line);
          c.st = St::kUser;
          send(c, "USER " + fmt_num(o.user_fmt, c.user) + "\r\n");
          break;
        case St::kUser:
          if (!okr) return fail(c, "USER: " + line);
          c.st = St::kPass;
          send(c, "PASS " + fmt_num(o.pass_fmt, c.user) + "\r\n");
          break;
        case St::kPass:
          if (!okr) return fail(c, "PASS " + fmt_num(o.user_fmt, c.user) + ": " + line);
          c.st = St::kStat;
          send(c, "STAT\r\n");
          break;
        case St::kStat:
          if (!okr) return fail(c, "STAT: " + line);
          c.count = std::atol(line.c_str() + 4);
          c.cur = 0;
          pop_next(c);
          break;
        case St::kDele:
          if (!okr) return fail(c, "DELE: " + line);
          pop_next(c);
          break;
        case St::kQuit:
          if (!okr) return fail(c, "QUIT: " + line);
          t_last = now();
          close_conn(c);
          c.st = St::kDone;
          start(c);
          return;
        default: return fail(c, "line in unexpected state: " + line);
      }
    }
  }

  void on_event(Conn& c, uint32_t events) {
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

  int run() {
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

  static double pct(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
    return v[std::min(i, v.size() - 1)];
  }

  int report() {
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
};

int usage() {
  std::fprintf(stderr,
               "usage: loadgen smtp|pop3 --host IP --port N [--sessions S] [--messages N]\n"
               "  [--size BYTES] [--per-conn M] [--rcpts R] [--rcpt-fmt FMT] [--from ADDR]\n"
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
