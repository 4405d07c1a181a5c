// Implementation of the configuration checker (see check_config.hpp).
#include "mailctl/check_config.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/config/config.hpp"
#include "common/io/fdio.hpp"
#include "common/mail/address.hpp"
#include "mailctl/args.hpp"
#include "mailctl/commands.hpp"

namespace mailctl {
namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  while (!text.empty()) {
    auto nl = text.find('\n');
    lines.emplace_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// "path:N: ..." -> N (0 if the message has no line number).
std::size_t line_number(const std::string& msg, const std::string& path) {
  if (msg.compare(0, path.size() + 1, path + ":") != 0) return 0;
  std::size_t n = 0, i = path.size() + 1;
  for (; i < msg.size() && msg[i] >= '0' && msg[i] <= '9'; ++i)
    n = n * 10 + static_cast<std::size_t>(msg[i] - '0');
  return i < msg.size() && msg[i] == ':' ? n : 0;
}

// "path:N: " for the line that sets `key`, or "path: " when the key has its default.
std::string where(const std::vector<std::string>& lines, const std::string& path, std::string_view key) {
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    while (!l.empty() && (l.front() == ' ' || l.front() == '\t')) l.remove_prefix(1);
    if (l.starts_with(key) && l.size() > key.size() &&
        (l[key.size()] == ' ' || l[key.size()] == '\t' || l[key.size()] == '='))
      return path + ":" + std::to_string(i + 1) + ": ";
  }
  return path + ": ";
}

bool inside(const std::string& a, const std::string& b) {  // a is b or below it
  return a == b || (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

void cross_checks(const common::config::Config& c, const std::vector<std::string>& lines,
                  const std::string& path, std::vector<std::string>* out) {
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    out->push_back(where(lines, path, c.tls_cert_file.empty() ? "tls_key_file" : "tls_cert_file") +
                   "tls_cert_file and tls_key_file go together: set both or neither");
  for (auto [key, file] :
       {std::pair{"tls_cert_file", &c.tls_cert_file}, std::pair{"tls_key_file", &c.tls_key_file}})
    if (!file->empty() && ::access(file->c_str(), R_OK) != 0)
      out->push_back(where(lines, path, key) + key + ": " + *file + ": " + std::strerror(errno));
  if (c.queue_retry_min > c.queue_retry_max)
    out->push_back(where(lines, path, "queue_retry_min") + "queue_retry_min is larger than queue_retry_max");
  if (!common::mail::is_domain(c.hostname, false))
    out->push_back(where(lines, path, "hostname") + "hostname '" + c.hostname +
                   "' is not a valid domain name");
  const std::pair<const char*, const std::string*> dirs[] = {{"spool_directory", &c.spool_directory},
                                                             {"data_directory", &c.data_directory},
                                                             {"mail_directory", &c.mail_directory}};
  for (const auto& [ka, a] : dirs)
    for (const auto& [kb, b] : dirs)
      if (ka != kb && inside(*a, *b) && (*a != *b || std::strcmp(ka, kb) > 0))
        out->push_back(where(lines, path, ka) + std::string(ka) + " (" + *a + ") must not be " +
                       (*a == *b ? "the same as " : "inside ") + kb + " (" + *b + ")");
}

}  // namespace

std::vector<std::string> check_config_text(std::string_view text, const std::string& path) {
  std::vector<std::string> problems;
  std::vector<std::string> lines = split_lines(text);
  for (std::size_t round = 0; round <= lines.size(); ++round) {
    auto cfg = common::config::parse(join_lines(lines), path);
    if (cfg) {
      cross_checks(*cfg, split_lines(text), path, &problems);
      return problems;
    }
    problems.push_back(cfg.message());
    std::size_t n = line_number(cfg.message(), path);
    if (n == 0 || n > lines.size()) break;
    lines[n - 1].clear();
  }
  return problems;
}

std::vector<std::string> config_notes(std::string_view text, const std::string& path) {
  std::vector<std::string> notes;
  auto cfg = common::config::parse(text, path);
  if (!cfg) return notes;
  std::vector<std::string> lines = split_lines(text);
  if (cfg->tls_cert_file.empty())
    notes.push_back(where(lines, path, "tls_cert_file") +
                    "note: no tls_cert_file: smtpd offers no STARTTLS and no submission ports, pop3d "
                    "no STLS and no pop3s; users can log in only over POP3 with pop3_plaintext_auth = yes");
  else if (cfg->pop3_plaintext_auth)
    notes.push_back(where(lines, path, "pop3_plaintext_auth") +
                    "note: pop3_plaintext_auth = yes: POP3 passwords may cross the network in clear "
                    "(USER/PASS before STLS)");
  // smtpd and pop3d read the key as root before they drop privileges, so nobody else
  // needs to: a key the world can read is a key anyone on the host can impersonate the
  // server with.
  struct stat st;
  if (!cfg->tls_key_file.empty() && ::stat(cfg->tls_key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    notes.push_back(where(lines, path, "tls_key_file") + "warning: tls_key_file " + cfg->tls_key_file +
                    " is readable by every user; the daemons read it as root: chmod o-r (0600 or 0640)");
  return notes;
}

int cmd_check_config(const std::string& path, std::FILE* out) {
  auto text = common::io::read_file(path, 1 << 20);
  if (!text) {
    std::fprintf(out, "%s\n", text.message().c_str());
    return kExitProblems;
  }
  auto problems = check_config_text(*text, path);
  for (const auto& p : problems) std::fprintf(out, "%s\n", p.c_str());
  if (problems.empty()) {
    for (const auto& n : config_notes(*text, path)) std::fprintf(out, "%s\n", n.c_str());
    std::fprintf(out, "%s: ok\n", path.c_str());
  }
  return problems.empty() ? kExitOk : kExitProblems;
}

}  // namespace mailctl
