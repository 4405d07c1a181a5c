// The load generator's shared parts (see loadgen.cpp): its options, one client session
// (Conn) and the run over all of them (Run). The epoll loop, session start and I/O live
// in loadgen.cpp, the SMTP dialogue in loadgen_smtp.cpp, the POP3 one in loadgen_pop3.cpp.
// Not part of Mailbag: plain POSIX C++ with no project dependency.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace loadgen {

double now();
// `f` (a printf format with one %d) applied to n.
std::string fmt_num(const std::string& f, long n);
// A body of printable 76-character lines (none starts with '.') of about `n` bytes.
std::string make_body(long n);

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  int port = 25;
  int sessions = 20;
  long messages = 1000;  // smtp: total messages
  long size = 4096;      // smtp: bytes per message (headers + body)
  long per_conn = 1;     // smtp: messages per connection
  int rcpts = 100;       // smtp: recipients are rcpt_fmt % (n mod rcpts)
  std::string rcpt_fmt = "u%03d@bench.test";
  long rcpts_per_msg = 1;  // smtp: message i goes to recipients n = i * rcpts_per_msg + k
  int domains = 0;         // smtp: >0: rcpt_fmt has two %d, filled with n and n mod domains
  std::string from = "sender@example.net";
  std::string helo = "loadgen.example.net";
  int users = 100;  // pop3
  std::string user_fmt = "u%03d@bench.test";
  std::string pass_fmt = "pw-u%03d";
  std::string source_prefix;  // e.g. "127.1.0." -> 127.1.0.1 .. .N as source addresses
  int sources = 0;
  double timeout = 600;  // whole run
};

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
  long rcpt_k = 0;     // smtp: the recipient of that message being sent
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

  int run();

  // loadgen.cpp: sessions and their I/O.
  void error(const std::string& e);
  bool work_left() const;
  void arm(Conn& c);
  void start(Conn& c);
  void close_conn(Conn& c);
  void fail(Conn& c, const std::string& why);
  void send(Conn& c, std::string s);
  void flush(Conn& c);
  void on_event(Conn& c, uint32_t events);
  int report();

  // loadgen_smtp.cpp
  int smtp_reply(Conn& c, std::string& text);
  void next_transaction(Conn& c);
  std::string message(long i);
  std::string rcpt(long i, long k) const;  // recipient k of message i
  void on_smtp(Conn& c);

  // loadgen_pop3.cpp
  bool pop_line(Conn& c, std::string& line);
  void pop_next(Conn& c);
  void on_pop(Conn& c);
};

}  // namespace loadgen
