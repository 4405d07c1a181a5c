// Tests for the signer's request handling (request.hpp) and key ring (keyring.hpp), on
// real queue files in a temporary directory: signed for an authenticated user, not for
// a stranger, deferred for a broken key; descriptors and queue ids that do not fit are
// refused; the key ring follows changes of the key list.
#include "delivery/dkim/request.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/dkim/keys.hpp"
#include "common/dkim/store.hpp"
#include "common/spool/queue_file.hpp"

using namespace delivery::dkim;
namespace cd = common::dkim;
using common::ipc::SignResult;

namespace {

const char* kMessage =
    "From: Alice <alice@example.org>\n"
    "To: bob@far.test\n"
    "Subject: hi\n"
    "\n"
    "Hello.\n";

struct Dir {
  std::string root;
  Dir() {
    char tmpl[] = "/tmp/dkim-request-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root = tmpl;
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void add_key(const std::string& domain, const std::string& sel, cd::Algorithm a) {
    auto keys = cd::load_keys(root);
    REQUIRE(keys.is_ok());
    cd::KeyEntry e{domain, sel, a, cd::KeyState::kActive};
    auto k = cd::generate_key(a);
    REQUIRE(k.is_ok());
    REQUIRE(cd::write_key_file(root, e, *cd::private_key_pem(k->get())).is_ok());
    keys->push_back(e);
    REQUIRE(cd::save_keys(root, *keys).is_ok());
  }
  // A queue file like the queue manager hands out: read-only descriptor.
  common::io::UniqueFd queue_file(const std::string& protocol, const std::string& client,
                                  const std::string& auth, const std::string& text = kMessage) {
    common::io::UniqueFd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY));
    common::spool::Envelope env;
    env.queue_id = "0123456789ABCDEF";
    env.arrival = 1796623200;
    env.protocol = protocol;
    env.client = client;
    env.auth_user = auth;
    env.sender = "alice@example.org";
    env.recipients = {"bob@far.test"};
    auto w = common::spool::QueueFileWriter::create(dir.get(), env);
    REQUIRE(w.is_ok());
    REQUIRE(w->append(text).is_ok());
    REQUIRE(w->finish().is_ok());
    auto rw = w->release_fd();
    std::string self = "/proc/self/fd/" + std::to_string(rw.get());
    common::io::UniqueFd ro(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(ro);
    return ro;
  }
};

common::ipc::Sign request(std::string qid = "0123456789ABCDEF") {
  common::ipc::Sign s;
  s.request_id = 7;
  s.queue_id = std::move(qid);
  return s;
}

Policy policy() {
  Policy p;
  p.relay_networks = *common::net::NetworkList::parse({"192.0.2.0/24"});
  return p;
}

}  // namespace

TEST_CASE("an authenticated user's message is signed; a stranger's is not") {
  Dir d;
  d.add_key("example.org", "s1", cd::Algorithm::kEd25519);
  KeyRing ring(d.root);
  ring.refresh();
  auto fd = d.queue_file("ESMTPSA", "pc [203.0.113.9]", "alice");
  auto done = handle_sign(request(), fd.get(), ring, policy(), 1796623200);
  CHECK(done.request_id == 7);
  REQUIRE(done.result == SignResult::kSigned);
  CHECK(done.header.starts_with("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.org; "));
  CHECK(done.header.find("s=s1;") != std::string::npos);
  CHECK(done.text == "authenticated user");

  auto stranger = d.queue_file("ESMTP", "mx [203.0.113.9]", "");
  done = handle_sign(request(), stranger.get(), ring, policy(), 1796623200);
  CHECK(done.result == SignResult::kUnsigned);
  CHECK(done.header.empty());
  // Two From: fields: no domain to sign for.
  auto two = d.queue_file("local", "", "", std::string("From: x@example.org\n") + kMessage);
  done = handle_sign(request(), two.get(), ring, policy(), 1796623200);
  CHECK(done.result == SignResult::kUnsigned);
  CHECK(done.text == "no From: domain");
}

TEST_CASE("a broken or wrong-type key defers; the ring follows the key list") {
  Dir d;
  d.add_key("example.org", "s1", cd::Algorithm::kRsa);
  std::string keyfile = d.root + "/s1._domainkey.example.org.key";
  auto ed = cd::generate_key(cd::Algorithm::kEd25519);
  std::ofstream(keyfile, std::ios::trunc) << *cd::private_key_pem(ed->get());
  KeyRing ring(d.root);
  ring.refresh();
  REQUIRE(ring.find("example.org") != nullptr);
  CHECK(ring.find("example.org")->error.find("the key is not an rsa key") != std::string::npos);
  auto fd = d.queue_file("local", "", "");
  auto done = handle_sign(request(), fd.get(), ring, policy(), 1796623200);
  CHECK(done.result == SignResult::kTempFail);
  CHECK(done.text.starts_with("DKIM key s1 of example.org cannot be used: "));

  // A new key list (as mailctl writes it: a new file renamed into place) is picked up.
  d.add_key("other.test", "s2", cd::Algorithm::kEd25519);
  ring.refresh();
  CHECK(ring.find("other.test") != nullptr);
  CHECK(ring.size() == 2);
}

TEST_CASE("descriptors and queue ids that do not fit are refused") {
  Dir d;
  d.add_key("example.org", "s1", cd::Algorithm::kEd25519);
  KeyRing ring(d.root);
  ring.refresh();
  auto fd = d.queue_file("local", "", "");
  auto done = handle_sign(request("FEDCBA9876543210"), fd.get(), ring, policy(), 1796623200);
  CHECK(done.result == SignResult::kTempFail);
  CHECK(done.text.starts_with("queue id mismatch"));
  done = handle_sign(request(), -1, ring, policy(), 1796623200);
  CHECK(done.result == SignResult::kTempFail);
  // Writable: not what the queue manager hands out.
  common::io::UniqueFd rw(::open((d.root + "/keys").c_str(), O_RDWR));
  done = handle_sign(request(), rw.get(), ring, policy(), 1796623200);
  CHECK(done.text == "refused descriptor: not opened read-only");
  common::io::UniqueFd dir(::open(d.root.c_str(), O_RDONLY | O_DIRECTORY));
  done = handle_sign(request(), dir.get(), ring, policy(), 1796623200);
  CHECK(done.text == "refused descriptor: not a regular file");
  // Not a queue file at all.
  common::io::UniqueFd keys(::open((d.root + "/keys").c_str(), O_RDONLY));
  done = handle_sign(request(), keys.get(), ring, policy(), 1796623200);
  CHECK(done.text.starts_with("bad queue file: "));
}
