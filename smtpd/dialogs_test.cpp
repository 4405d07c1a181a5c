// Replays the SMTP transcripts in tests/dialogs/*.dlg (format: tests/dialogs/README.md)
// against the pure Session with a fake queue manager that checks each queue file with
// the queue manager's own validator, and a fake password check (the real one, with
// yescrypt on worker threads, runs in tests/integration).
#include <dirent.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <sstream>

#include "common/io/fdio.hpp"
#include "common/spool/queue_file.hpp"
#include "smtpd/session.hpp"
#include "smtpd/test_support.hpp"

using namespace smtpd;
using common::mail::Outcome;
using common::mail::Verdict;

namespace {

const std::string kDir = std::string(MAILBAG_SOURCE_DIR) + "/tests/dialogs";

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out.push_back(s[i]);
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'r': out.push_back('\r'); break;
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'x':
        if (i + 2 < s.size()) {
          out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
          i += 2;
        }
        break;
      default: out.push_back(e); break;
    }
  }
  return out;
}

// '*' matches any run; everything else is literal.
bool glob(std::string_view pat, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pat.size() && pat[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

class Runner {
 public:
  explicit Runner(const std::string& name) : name_(name) {}

  void run(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    int no = 0;
    while (std::getline(in, line)) {
      ++no;
      where_ = name_ + ":" + std::to_string(no);
      if (line.empty() || line[0] == '#') continue;
      if (line.rfind("@set ", 0) == 0) {
        REQUIRE_MESSAGE(!session_, where_ << ": @set after the first exchange");
        set(line.substr(5));
        continue;
      }
      ensure_started();
      if (line.rfind("C: ", 0) == 0 || line == "C:") {
        pending_ += (line.size() > 3 ? line.substr(3) : "") + "\r\n";
      } else if (line.rfind("R: ", 0) == 0) {
        pending_ += unescape(line.substr(3));
      } else if (line.rfind("S: ", 0) == 0) {
        flush();
        std::string pat = line.substr(3);
        if (replies_.empty()) {
          FAIL_CHECK(where_ << ": expected a reply matching '" << pat << "', got none");
          continue;
        }
        std::string got = replies_.front();
        replies_.pop_front();
        CHECK_MESSAGE(glob(pat, got), where_ << ": reply '" << got << "' does not match '" << pat << "'");
      } else if (line.rfind("Q: ", 0) == 0) {
        queue_mode_ = line.substr(3);
      } else if (line.rfind("A: ", 0) == 0) {
        auth_mode_ = line.substr(3);
      } else if (line.rfind("E: ", 0) == 0) {
        etrn_mode_ = line.substr(3);
      } else if (line.rfind("F: ", 0) == 0) {
        flush();
        std::string want = unescape(line.substr(3));
        CHECK_MESSAGE(last_file_.find(want) != std::string::npos, where_ << ": queue file lacks '"
                                                                         << line.substr(3) << "':\n"
                                                                         << last_file_);
      } else if (line == "!tls") {
        flush();
        absorb(session_->tls_established("TLSv1.3 with cipher TEST_CIPHER (256/256 bits)"));
      } else if (line == "!timeout") {
        flush();
        absorb(session_->timeout());
      } else if (line == "!closed") {
        flush();
        CHECK_MESSAGE(closed_, where_ << ": the server did not close the connection");
      } else if (line.rfind("!etrn ", 0) == 0) {
        flush();
        CHECK_MESSAGE(last_etrn_ == line.substr(6),
                      where_ << ": last ETRN to the queue manager was '" << last_etrn_ << "'");
      } else if (line.rfind("!submissions ", 0) == 0) {
        flush();
        CHECK_MESSAGE(submissions_ == std::stoi(line.substr(13)),
                      where_ << ": " << submissions_ << " submissions");
      } else {
        FAIL_CHECK(where_ << ": unknown directive '" << line << "'");
      }
    }
    where_ = name_ + ":end";
    ensure_started();
    flush();
    std::string rest;
    for (const auto& r : replies_) rest += "\n  " + r;
    CHECK_MESSAGE(replies_.empty(), where_ << ": unmatched replies:" << rest);
  }

 private:
  void set(const std::string& kv) {
    auto sp = kv.find(' ');
    std::string k = kv.substr(0, sp), v = sp == std::string::npos ? "" : kv.substr(sp + 1);
    if (k == "tls")
      cfg_.tls_available = v == "on";
    else if (k == "port")
      cfg_.port = v == "submission" ? Port::kSubmission : v == "submissions" ? Port::kSubmissions : Port::kMx;
    else if (k == "relay_network")
      client_.relay_network = v == "on";
    else if (k == "etrn_network")
      client_.etrn_network = v == "on";
    else if (k == "relay_domains")
      cfg_.relay_domains.push_back(v);
    else if (k == "pop_before_smtp")
      cfg_.pop_before_smtp = v == "on";
    else if (k == "relay_db")
      backend_.relay_db.insert(client_.ip);
    else if (k == "login_check")
      cfg_.sender_login_check = v == "on";
    else if (k == "max_recipients")
      cfg_.max_recipients = std::stoul(v);
    else if (k == "size_limit")
      cfg_.message_size_limit = std::stoull(v);
    else if (k == "hostname")
      cfg_.hostname = v;
    else
      FAIL_CHECK(where_ << ": unknown setting " << k);
  }

  void ensure_started() {
    if (session_) return;
    session_ = std::make_unique<Session>(cfg_, client_, backend_);
    if (cfg_.port == Port::kSubmissions)
      session_->set_implicit_tls("TLSv1.3 with cipher TEST_CIPHER (256/256 bits)");
    absorb(session_->start());
  }

  void flush() {
    if (pending_.empty()) return;
    std::string bytes = std::move(pending_);
    pending_.clear();
    absorb(session_->feed(bytes));
  }

  void absorb(Output o) {
    std::string_view b = o.bytes;
    while (!b.empty()) {
      auto end = b.find("\r\n");
      REQUIRE_MESSAGE(end != std::string_view::npos, where_ << ": reply without CRLF");
      replies_.emplace_back(b.substr(0, end));
      b.remove_prefix(end + 2);
    }
    if (o.close) closed_ = true;
    if (o.submit) {
      ++submissions_;
      last_file_ = testing::read_all(o.submit->fd.get());
      auto env = common::spool::read_envelope(o.submit->fd.get());
      CHECK_MESSAGE(env.is_ok(), where_ << ": invalid queue file: " << env.message());
      absorb(session_->submit_done(verdict()));
    }
    if (o.auth) absorb(session_->auth_done(auth_outcome(*o.auth)));
    if (o.etrn) {
      last_etrn_ = (o.etrn->subdomains ? "@" : "") + o.etrn->domain;
      if (etrn_mode_ == "down")
        absorb(session_->etrn_done(std::nullopt));
      else
        absorb(session_->etrn_done(static_cast<std::uint32_t>(std::stoul(etrn_mode_))));
    }
  }

  // The fake password check: alice@example.test (any case) with "secret" is alice; the
  // mode can force an outcome.
  AuthOutcome auth_outcome(const AuthRequest& r) const {
    if (auth_mode_ == "tempfail") return AuthOutcome{AuthOutcome::Kind::kTempFail, "", ""};
    bool good = r.password == "secret" &&
                (r.login == "alice@example.test" || r.login == "ALICE@EXAMPLE.TEST" || r.login == "alice");
    if (good && auth_mode_ != "blocked") return AuthOutcome{AuthOutcome::Kind::kOk, "alice@example.test", ""};
    return AuthOutcome{auth_mode_ == "blocked" ? AuthOutcome::Kind::kBlocked : AuthOutcome::Kind::kFailed, "",
                       ""};
  }

  Verdict verdict() const {
    std::istringstream in(queue_mode_);
    std::string mode, status, text;
    in >> mode >> status;
    std::getline(in, text);
    if (!text.empty() && text[0] == ' ') text.erase(0, 1);
    if (mode == "temporary") return Verdict{Outcome::kTemporary, status, text};
    if (mode == "permanent") return Verdict{Outcome::kPermanent, status, text};
    if (mode == "down")  // what Connection answers when the channel is not open
      return Verdict{Outcome::kTemporary, "4.3.0", "Queue manager unavailable, try again later"};
    return Verdict{Outcome::kOk, "", ""};
  }

  std::string name_, where_;
  testing::TestBackend backend_;
  SessionConfig cfg_ = [] {
    SessionConfig c = testing::test_config();
    c.max_recipients = 100;
    return c;
  }();
  std::unique_ptr<Session> session_;
  std::string pending_;
  std::deque<std::string> replies_;
  std::string queue_mode_ = "ok";
  std::string auth_mode_ = "check";
  std::string etrn_mode_ = "0";
  std::string last_etrn_;
  ClientInfo client_ = testing::test_client();
  std::string last_file_;
  bool closed_ = false;
  int submissions_ = 0;
};

std::vector<std::string> dialog_files() {
  std::vector<std::string> out;
  DIR* d = opendir(kDir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 4 && n.compare(n.size() - 4, 4, ".dlg") == 0) out.push_back(n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("the dialog harness itself: glob and escapes") {
  CHECK(glob("250 2.0.0 Ok: queued as *", "250 2.0.0 Ok: queued as 0123"));
  CHECK(glob("250-*", "250-PIPELINING"));
  CHECK_FALSE(glob("250 *", "250-PIPELINING"));
  CHECK_FALSE(glob("250", "2500"));
  CHECK(glob("*Ok", "250 Ok"));
  CHECK(unescape("a\\r\\n\\x2e\\\\") == "a\r\n.\\");
}

TEST_CASE("tests/dialogs: every transcript replays") {
  auto files = dialog_files();
  REQUIRE_MESSAGE(files.size() >= 6, "dialogs missing in " << kDir);
  for (const auto& f : files) {
    auto text = common::io::read_file(kDir + "/" + f);
    REQUIRE_MESSAGE(text.is_ok(), text.message());
    Runner(f).run(*text);
  }
}
