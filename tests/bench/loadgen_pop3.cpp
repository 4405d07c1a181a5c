// The load generator's POP3 dialogue (see loadgen.cpp): USER, PASS, STAT, then RETR and
// DELE for every message, QUIT.
#include <algorithm>
#include <cstdlib>

#include "loadgen.hpp"

namespace loadgen {

// POP3: one status line at the front of c.in ("+OK ..." / "-ERR ..."), or false.
bool Run::pop_line(Conn& c, std::string& line) {
  size_t nl = c.in.find('\n');
  if (nl == std::string::npos) return false;
  line = c.in.substr(0, nl);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  c.in.erase(0, nl + 1);
  c.scan = 0;
  return true;
}

void Run::pop_next(Conn& c) {
  if (c.cur < c.count) {
    ++c.cur;
    c.st = St::kRetr;
    send(c, "RETR " + std::to_string(c.cur) + "\r\n");
  } else {
    c.st = St::kQuit;
    send(c, "QUIT\r\n");
  }
}

void Run::on_pop(Conn& c) {
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

}  // namespace loadgen
