// The load generator's SMTP dialogue (see loadgen.cpp): one message per transaction,
// EHLO, MAIL, RCPT, DATA, the message, and the time from the end of DATA to its 250.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "loadgen.hpp"

namespace loadgen {

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

// One complete SMTP reply at the front of c.in: its code, or 0 when incomplete.
int Run::smtp_reply(Conn& c, std::string& text) {
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

void Run::next_transaction(Conn& c) {
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

std::string Run::rcpt(long i, long k) const {
  long n = (i * o.rcpts_per_msg + k) % o.rcpts;
  if (o.domains <= 0) return fmt_num(o.rcpt_fmt, n);
  char buf[512];
  std::snprintf(buf, sizeof buf, o.rcpt_fmt.c_str(), static_cast<int>(n), static_cast<int>(n % o.domains));
  return buf;
}

std::string Run::message(long i) {
  std::string rcpt = this->rcpt(i, 0);
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

void Run::on_smtp(Conn& c) {
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
        c.rcpt_k = 0;
        send(c, "RCPT TO:<" + rcpt(c.msg, 0) + ">\r\n");
        break;
      case St::kRcpt:
        if (code != 250 && code != 251) return fail(c, "RCPT: " + text);
        if (++c.rcpt_k < o.rcpts_per_msg) {
          send(c, "RCPT TO:<" + rcpt(c.msg, c.rcpt_k) + ">\r\n");
          break;
        }
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

}  // namespace loadgen
