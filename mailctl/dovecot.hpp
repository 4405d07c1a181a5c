// `mailctl dovecot config [DIR]`: writes the Dovecot configuration of dovecot_conf.hpp
// into DIR (default: the directory of mailbag.conf, then "dovecot"), refusing to replace
// any file there that mailctl did not write.
#pragma once

#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

// `mailbag_config`: the configuration file mailctl was started with (made absolute).
int cmd_dovecot_config(Context& ctx, const std::string& dir, const std::string& mailbag_config);

}  // namespace mailctl
