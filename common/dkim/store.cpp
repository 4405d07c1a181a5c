// Implementation of the DKIM key store (see store.hpp).
#include "common/dkim/store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"

namespace common::dkim {

namespace {

bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > 253 || d.front() == '.' || d.back() == '.') return false;
  for (char c : d) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return d.find("..") == std::string_view::npos;
}

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> w;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t s = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > s) w.push_back(line.substr(s, i - s));
  }
  return w;
}

}  // namespace

Result<std::vector<KeyEntry>> parse_keys(std::string_view text) {
  std::vector<KeyEntry> out;
  std::size_t lineno = 0;
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    auto bad = [&](const std::string& why) {
      return Status::error(std::string(kKeysFile) + ":" + std::to_string(lineno) + ": " + why);
    };
    if (line.find_first_of(std::string_view("\0\r", 2)) != std::string_view::npos)
      return bad("control character");
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    if (w.size() != 4) return bad("expected DOMAIN SELECTOR ALGORITHM STATE");
    KeyEntry e;
    e.domain = std::string(w[0]);
    e.selector = std::string(w[1]);
    if (!valid_domain(e.domain)) return bad("bad domain");
    if (!valid_selector(e.selector)) return bad("bad selector");
    auto a = parse_algorithm(w[2]);
    if (!a) return bad(a.message());
    e.algorithm = *a;
    if (w[3] == "active")
      e.state = KeyState::kActive;
    else if (w[3] == "retiring")
      e.state = KeyState::kRetiring;
    else
      return bad("state must be active or retiring");
    for (const auto& o : out) {
      if (o.domain != e.domain) continue;
      if (o.selector == e.selector) return bad("duplicate selector");
      if (o.state == e.state) return bad("a second " + std::string(w[3]) + " key for " + e.domain);
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::string format_keys(const std::vector<KeyEntry>& keys) {
  std::string out = "# Mailbag DKIM keys (mailctl dkim): DOMAIN SELECTOR ALGORITHM STATE\n";
  for (const auto& e : keys)
    out += e.domain + " " + e.selector + " " + algorithm_name(e.algorithm) + " " +
           (e.state == KeyState::kActive ? "active" : "retiring") + "\n";
  return out;
}

std::string key_file_name(const KeyEntry& e) { return e.selector + "._domainkey." + e.domain + ".key"; }

std::string record_file_name(const KeyEntry& e) { return e.selector + "._domainkey." + e.domain + ".txt"; }

const KeyEntry* active_key(const std::vector<KeyEntry>& keys, std::string_view domain) {
  for (const auto& e : keys)
    if (e.domain == domain && e.state == KeyState::kActive) return &e;
  return nullptr;
}

std::string new_selector(const std::vector<KeyEntry>& keys, std::string_view domain, std::int64_t now) {
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char day[48];
  std::snprintf(day, sizeof day, "mb%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  auto taken = [&](const std::string& s) {
    for (const auto& e : keys)
      if (e.domain == domain && e.selector == s) return true;
    return false;
  };
  std::string s = day;
  for (int n = 2; taken(s); ++n) s = std::string(day) + "-" + std::to_string(n);
  return s;
}

Result<std::vector<KeyEntry>> load_keys(const std::string& dir) {
  std::string path = dir + "/" + kKeysFile;
  auto text = common::io::read_file(path, kMaxKeysFile);
  if (!text) {
    if (text.status().err() == ENOENT) return std::vector<KeyEntry>{};
    return text.status();
  }
  auto keys = parse_keys(*text);
  if (!keys) return Status::error(dir + "/" + keys.message());
  return keys;
}

Status save_keys(const std::string& dir, const std::vector<KeyEntry>& keys) {
  std::string path = dir + "/" + kKeysFile;
  std::string tmp = path + ".tmp";
  common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return Status::sys("create " + tmp);
  if (::fchmod(fd.get(), 0644) != 0) return Status::sys("chmod " + tmp);
  MB_TRY(common::io::write_all(fd.get(), format_keys(keys)));
  MB_TRY(common::io::fsync_fd(fd.get(), "dkim keys"));
  fd = common::io::UniqueFd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::sys("rename " + tmp);
  return common::io::fsync_dir(dir);
}

Status write_key_file(const std::string& dir, const KeyEntry& e, std::string_view pem) {
  std::string path = dir + "/" + key_file_name(e);
  common::io::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return Status::sys("create " + path);
  MB_TRY(common::io::write_all(fd.get(), pem));
  MB_TRY(common::io::fsync_fd(fd.get(), "dkim key"));
  return Status::ok();
}

Status write_record_file(const std::string& dir, const KeyEntry& e, std::string_view record) {
  std::string path = dir + "/" + record_file_name(e);
  std::string tmp = path + ".tmp";
  common::io::UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return Status::sys("create " + tmp);
  if (::fchmod(fd.get(), 0644) != 0) return Status::sys("chmod " + tmp);
  MB_TRY(common::io::write_all(fd.get(), std::string(record) + "\n"));
  fd = common::io::UniqueFd();
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Status::sys("rename " + tmp);
  return Status::ok();
}

Result<std::string> read_record_file(const std::string& dir, const KeyEntry& e) {
  auto text = common::io::read_file(dir + "/" + record_file_name(e), 64 * 1024);
  if (!text) return text.status();
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  return text;
}

Status remove_key_file(const std::string& dir, const KeyEntry& e) {
  for (const std::string& name : {key_file_name(e), record_file_name(e)}) {
    std::string path = dir + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::sys("remove " + path);
  }
  return Status::ok();
}

Result<Pkey> read_key_file(const std::string& dir, const KeyEntry& e) {
  std::string path = dir + "/" + key_file_name(e);
  auto pem = common::io::read_file(path, 64 * 1024);
  if (!pem) return pem.status();
  auto key = load_private_key(*pem, e.algorithm);
  if (!key) return Status::error(path + ": " + key.message());
  return key;
}

}  // namespace common::dkim
