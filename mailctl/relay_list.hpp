// The file `mailctl relay-recipient import DOMAIN FILE` reads: one address of DOMAIN per
// line (or a bare local part), blank lines and '#' comments ignored; for instance the
// primary's user list, exported there and copied here by cron. Pure, for tests and fuzzing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace mailctl {

// The lower-case keys "local@domain" of `text`, sorted and without duplicates; an error
// names the first bad line ("line N: ..."). `domain` is lower-case, in A-labels.
common::Result<std::vector<std::string>> parse_relay_list(std::string_view text, const std::string& domain);

// One address for `domain` given on the command line or in the file: "local@domain" (a
// UTF-8 domain is taken in its A-label form) or a bare local part. Empty `domain`: any
// domain. The key, or an error saying why not.
common::Result<std::string> relay_recipient_key(std::string_view text, const std::string& domain);

}  // namespace mailctl
