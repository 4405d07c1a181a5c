// mailctl db init / db migrate: the PostgreSQL schema of the shared accounts database
// (common/pg/schema.hpp), created or brought up to this version, as mailbag_admin.
#pragma once

#include "mailctl/args.hpp"
#include "mailctl/context.hpp"

namespace mailctl {

int cmd_db(Context& ctx, Command command);
// db export / db import (db_dump.hpp), as the databases' owner; `text` is the dump,
// read with the administrator's rights before.
int cmd_db_export(Context& ctx);
int cmd_db_import(Context& ctx, const std::string& text);

}  // namespace mailctl
