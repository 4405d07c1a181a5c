// Tests of `mailctl dkim` against a temporary tree, as the current user: generate,
// list, rotate, retire, their refusals, the key store's modes, and the printed records.
#include "mailctl/dkim.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/dkim/store.hpp"
#include "mailctl/args.hpp"
#include "mailctl/commands.hpp"

using namespace mailctl;

namespace {

struct Tree {
  std::string root, conf, out, err;
  Tree() {
    char tmpl[] = "/tmp/mailctl-dkim-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    root = tmpl;
    conf = root + "/mailbag.conf";
    std::ofstream(conf) << "spool_directory = " << root << "/spool\n"
                        << "data_directory = " << root << "/data\n"
                        << "mail_directory = " << root << "/mail\n"
                        << "log_target = stderr\n";
    REQUIRE(run({"init"}) == kExitOk);
  }
  ~Tree() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  static std::string slurp(std::FILE* f) {
    std::string s;
    std::rewind(f);
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  }
  int run(std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", conf});
    std::FILE* o = std::tmpfile();
    std::FILE* e = std::tmpfile();
    int rc = mailctl::run(args, false, stdin, o, e);
    out = slurp(o);
    err = slurp(e);
    return rc;
  }
  mode_t mode(const std::string& rel) const {
    struct stat st;
    REQUIRE(::lstat((root + "/" + rel).c_str(), &st) == 0);
    return st.st_mode & 07777;
  }
  std::vector<common::dkim::KeyEntry> keys() const {
    auto k = common::dkim::load_keys(root + "/data/dkim");
    REQUIRE(k.is_ok());
    return *k;
  }
};

}  // namespace

TEST_CASE("dkim arguments") {
  auto a = parse_args({"dkim", "generate", "example.org", "--selector", "s1", "--algorithm", "ed25519"});
  REQUIRE(a.is_ok());
  CHECK(a->command == Command::kDkimGenerate);
  CHECK(a->target == "example.org");
  CHECK(*a->selector == "s1");
  CHECK(*a->algorithm == "ed25519");
  CHECK(parse_args({"dkim", "retire", "example.org", "s1"})->target2 == "s1");
  CHECK(parse_args({"dkim", "list"})->command == Command::kDkimList);
  CHECK_FALSE(parse_args({"dkim", "retire", "example.org"}).is_ok());
  CHECK_FALSE(parse_args({"dkim"}).is_ok());
  CHECK_FALSE(parse_args({"dkim", "list", "--selector", "x"}).is_ok());
  CHECK_FALSE(parse_args({"domain", "add", "x.test", "--algorithm", "rsa"}).is_ok());
}

TEST_CASE("generate, rotate, list, retire") {
  Tree t;
  CHECK(t.mode("data/dkim") == 0711);
  CHECK(t.mode("spool/signer") == 0710);

  REQUIRE(t.run({"dkim", "generate", "Example.ORG", "--selector", "one"}) == kExitOk);
  CHECK(
      t.out.starts_with("created rsa key one for example.org; publish this record in DNS:\n"
                        "one._domainkey.example.org. IN TXT \"v=DKIM1; k=rsa; p="));
  CHECK(t.out.find("\" \"") != std::string::npos);  // a 2048-bit key needs two strings
  CHECK(t.mode("data/dkim/one._domainkey.example.org.key") == 0600);
  CHECK(t.mode("data/dkim/keys") == 0644);
  // One active key per domain.
  CHECK(t.run({"dkim", "generate", "example.org"}) == kExitRefused);
  CHECK(t.err.find("already has the key one") != std::string::npos);

  REQUIRE(t.run({"dkim", "rotate", "example.org", "--algorithm", "ed25519"}) == kExitOk);
  auto keys = t.keys();
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].selector == "one");
  CHECK(keys[0].state == common::dkim::KeyState::kRetiring);
  CHECK(keys[1].state == common::dkim::KeyState::kActive);
  CHECK(keys[1].algorithm == common::dkim::Algorithm::kEd25519);
  CHECK(keys[1].selector.starts_with("mb"));
  CHECK(t.out.find("IN TXT \"v=DKIM1; k=ed25519; p=") != std::string::npos);
  CHECK(t.out.find("then run 'mailctl dkim retire example.org one'") != std::string::npos);
  // Two selectors at most: the retiring one must go first.
  CHECK(t.run({"dkim", "rotate", "example.org"}) == kExitRefused);
  CHECK(t.err.find("still has the retiring key one") != std::string::npos);

  REQUIRE(t.run({"dkim", "list"}) == kExitOk);
  CHECK(t.out.starts_with("example.org one rsa retiring"));
  CHECK(t.out.find("example.org " + keys[1].selector + " ed25519 active\n") != std::string::npos);

  CHECK(t.run({"dkim", "retire", "example.org", keys[1].selector}) == kExitRefused);
  CHECK(t.run({"dkim", "retire", "example.org", "nope"}) == kExitRefused);
  REQUIRE(t.run({"dkim", "retire", "example.org", "one"}) == kExitOk);
  CHECK(t.out.find("delete its record from DNS:\none._domainkey.example.org. IN TXT") != std::string::npos);
  CHECK(t.keys().size() == 1);
  CHECK(::access((t.root + "/data/dkim/one._domainkey.example.org.key").c_str(), F_OK) != 0);
}

TEST_CASE("bad input changes nothing; a broken key file shows in list") {
  Tree t;
  CHECK(t.run({"dkim", "generate", "not a domain"}) == kExitRefused);
  CHECK(t.run({"dkim", "generate", "example.org", "--selector", "../x"}) == kExitRefused);
  CHECK(t.run({"dkim", "generate", "example.org", "--algorithm", "dsa"}) == kExitRefused);
  CHECK(t.run({"dkim", "rotate", "example.org"}) == kExitRefused);
  CHECK(t.keys().empty());
  REQUIRE(t.run({"dkim", "generate", "example.org", "--selector", "s", "--algorithm", "ed25519"}) == kExitOk);
  std::ofstream(t.root + "/data/dkim/s._domainkey.example.org.key", std::ios::trunc) << "garbage\n";
  CHECK(t.run({"dkim", "list"}) == kExitProblems);
  CHECK(t.err.find("not a PEM private key") != std::string::npos);
}
