// `mailctl roundcube config [DIR]`: writes the Roundcube configuration of
// roundcube_conf.hpp into DIR (default: the directory of mailbag.conf, then
// "roundcube") and creates Roundcube's state directory (data_directory/roundcube, owned
// by the web server's user), refusing to replace any file that mailctl did not write.
#pragma once

#include <string>

#include "mailctl/context.hpp"

namespace mailctl {

// `mailbag_config`: the configuration file mailctl was started with.
int cmd_roundcube_config(Context& ctx, const std::string& dir, const std::string& mailbag_config);

}  // namespace mailctl
