// The sendmail(8) command line, as cron, mail(1) and scripts use it (Postfix's and
// classic sendmail's options). Pure parsing: main.cpp decides what the options may do
// for the calling user (-C only when not running setgid). See sendmail(8).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace sendmail {

enum class Mode {
  kSend,        // the default (-bm): read a message, queue it
  kNewAliases,  // -bi, or invoked as newaliases: nothing to do here (accounts.mdb)
};

struct Options {
  Mode mode = Mode::kSend;
  bool extract = false;                  // -t: recipients from To:, Cc:, Bcc:
  bool ignore_dots = false;              // -i, -oi: a line with a single "." does not end the message
  std::optional<std::string> sender;     // -f / -r; "" or "<>" is the null sender
  std::optional<std::string> full_name;  // -F
  std::optional<std::string> config;     // -C FILE
  std::vector<std::string> recipients;   // the operands
  std::vector<std::string> ignored;      // accepted and ignored, for -v output
};

// Parses argv[1..]. `program` is the basename of argv[0] ("newaliases" selects -bi).
// Unsupported modes (-bp mailq, -bs, -bd, -q, -bv) are errors that say what to use
// instead.
common::Result<Options> parse_options(const std::string& program, const std::vector<std::string>& args);

}  // namespace sendmail
