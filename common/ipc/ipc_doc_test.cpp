// Checks that man/mailbag-ipc.7 describes every message of messages.hpp, each as a
// ".It Cm Name Pq type N" entry whose number matches MsgType, so the manual cannot fall
// behind the catalogue.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "common/io/fdio.hpp"
#include "common/ipc/messages.hpp"

TEST_CASE("every IPC message is documented in mailbag-ipc(7)") {
  const std::string path = MAILBAG_SOURCE_DIR "/man/mailbag-ipc.7";
  auto page = common::io::read_file(path);
  REQUIRE_MESSAGE(page.is_ok(), page.message());
  for (const auto& m : common::ipc::kMsgNames) {
    const std::string want =
        ".It Cm " + std::string(m.name) + " Pq type " + std::to_string(static_cast<int>(m.type));
    std::istringstream in(*page);
    std::string line;
    int count = 0;
    while (std::getline(in, line))
      if (line == want) ++count;
    INFO("message ", m.name, " in ", path);
    CHECK_MESSAGE(count == 1, "want exactly one line '", want, "'");
  }
  // The protocol names and the version announced in Hello are documented too.
  CHECK(page->find(common::ipc::kProtoSubmit) != std::string::npos);
  CHECK(page->find(common::ipc::kProtoDeliver) != std::string::npos);
}
