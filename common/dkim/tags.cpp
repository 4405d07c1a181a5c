// Implementation of tag-list parsing (see tags.hpp).
#include "common/dkim/tags.hpp"

namespace common::dkim {

namespace {
bool space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
std::string_view trim(std::string_view s) {
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}
}  // namespace

Result<std::map<std::string, std::string>> parse_tags(std::string_view text) {
  std::map<std::string, std::string> tags;
  while (true) {
    auto semi = text.find(';');
    std::string_view spec = trim(text.substr(0, semi));
    if (!spec.empty()) {
      auto eq = spec.find('=');
      if (eq == std::string_view::npos)
        return Status::error("tag without '=': " + std::string(spec.substr(0, 40)));
      std::string name(trim(spec.substr(0, eq)));
      if (name.empty()) return Status::error("empty tag name");
      for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
          return Status::error("bad tag name: " + name.substr(0, 40));
      if (!tags.emplace(name, std::string(trim(spec.substr(eq + 1)))).second)
        return Status::error("duplicate tag: " + name);
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  return tags;
}

std::string without_space(std::string_view v) {
  std::string out;
  for (char c : v)
    if (!space(c)) out.push_back(c);
  return out;
}

}  // namespace common::dkim
