// Tests for DKIM keys (keys.hpp) and the key store file (store.hpp): generation and
// reload of both algorithms, the wrong type refused, the p= values, the TXT record split
// into 255-byte strings, selectors, and the `keys` file.
#include "common/dkim/keys.hpp"

#include <doctest/doctest.h>

#include "common/dkim/store.hpp"

using namespace common::dkim;

TEST_CASE("TXT strings are at most 255 bytes and join to the record") {
  std::string text(600, 'x');
  auto parts = split_txt(text);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].size() == 255);
  CHECK(parts[1].size() == 255);
  CHECK(parts[2].size() == 90);
  CHECK(parts[0] + parts[1] + parts[2] == text);
  CHECK(split_txt(std::string(255, 'y')).size() == 1);
  CHECK(split_txt(std::string(256, 'y')).size() == 2);
  CHECK(txt_record_line("example.org", "s1", "v=DKIM1; k=ed25519; p=AAAA") ==
        "s1._domainkey.example.org. IN TXT \"v=DKIM1; k=ed25519; p=AAAA\"");
}

TEST_CASE("RSA key: 2048 bits, PEM round trip, SPKI p= value, split record") {
  auto k = generate_key(Algorithm::kRsa);
  REQUIRE(k.is_ok());
  CHECK(EVP_PKEY_bits(k->get()) == 2048);
  auto pem = private_key_pem(k->get());
  REQUIRE(pem.is_ok());
  CHECK(pem->starts_with("-----BEGIN PRIVATE KEY-----"));
  auto back = load_private_key(*pem, Algorithm::kRsa);
  REQUIRE(back.is_ok());
  CHECK(EVP_PKEY_eq(k->get(), back->get()) == 1);
  auto p = public_key_value(k->get(), Algorithm::kRsa);
  REQUIRE(p.is_ok());
  CHECK(p->size() == 392);  // base64 of the 294-byte DER SubjectPublicKeyInfo
  auto line = txt_record_line("example.org", "sel", key_record_text(Algorithm::kRsa, *p));
  CHECK(line.find("\" \"") != std::string::npos);  // more than one string
  // A key of the other type is refused.
  CHECK_FALSE(load_private_key(*pem, Algorithm::kEd25519).is_ok());
  CHECK_FALSE(load_private_key("not a key", Algorithm::kRsa).is_ok());
}

TEST_CASE("Ed25519 key: raw 32-byte p= value") {
  auto k = generate_key(Algorithm::kEd25519);
  REQUIRE(k.is_ok());
  auto p = public_key_value(k->get(), Algorithm::kEd25519);
  REQUIRE(p.is_ok());
  CHECK(p->size() == 44);
  auto pem = private_key_pem(k->get());
  REQUIRE(pem.is_ok());
  CHECK(load_private_key(*pem, Algorithm::kEd25519).is_ok());
  CHECK_FALSE(load_private_key(*pem, Algorithm::kRsa).is_ok());
}

TEST_CASE("selectors") {
  CHECK(valid_selector("mb20261207"));
  CHECK(valid_selector("mb20261207-2"));
  CHECK(valid_selector("a.b"));
  CHECK_FALSE(valid_selector(""));
  CHECK_FALSE(valid_selector("../x"));
  CHECK_FALSE(valid_selector("a/b"));
  CHECK_FALSE(valid_selector("-a"));
  CHECK_FALSE(valid_selector("a-"));
  CHECK_FALSE(valid_selector("a..b"));
  CHECK_FALSE(valid_selector("A"));
  CHECK_FALSE(valid_selector("a_b"));
  CHECK_FALSE(valid_selector(std::string(64, 'a')));
}

TEST_CASE("keys file: round trip and refusals") {
  std::vector<KeyEntry> keys = {
      {"example.org", "new", Algorithm::kEd25519, KeyState::kActive},
      {"example.org", "old", Algorithm::kRsa, KeyState::kRetiring},
      {"other.test", "s1", Algorithm::kRsa, KeyState::kActive},
  };
  auto back = parse_keys(format_keys(keys));
  REQUIRE(back.is_ok());
  CHECK(*back == keys);
  CHECK(active_key(keys, "example.org")->selector == "new");
  CHECK(active_key(keys, "nowhere.test") == nullptr);
  CHECK(key_file_name(keys[0]) == "new._domainkey.example.org.key");

  CHECK(parse_keys("\n# comment\n  \n")->empty());
  CHECK(parse_keys("example.org s1 rsa").message() == "keys:1: expected DOMAIN SELECTOR ALGORITHM STATE");
  CHECK(parse_keys("example.org s1 dsa active").message().starts_with("keys:1: unknown algorithm"));
  CHECK(parse_keys("example.org s1 rsa sleeping").message() == "keys:1: state must be active or retiring");
  CHECK(parse_keys("example.org ../s rsa active").message() == "keys:1: bad selector");
  CHECK(parse_keys("Example/org s rsa active").message() == "keys:1: bad domain");
  CHECK(parse_keys("a.test s rsa active\na.test s rsa retiring").message() == "keys:2: duplicate selector");
  CHECK(parse_keys("a.test s rsa active\na.test t rsa active").message() ==
        "keys:2: a second active key for a.test");
}

TEST_CASE("new selectors: by day, numbered when taken") {
  constexpr std::int64_t kDay = 1796601600;  // 2026-12-07 00:00 UTC
  std::vector<KeyEntry> keys;
  CHECK(new_selector(keys, "a.test", kDay) == "mb20261207");
  keys.push_back({"a.test", "mb20261207", Algorithm::kRsa, KeyState::kActive});
  CHECK(new_selector(keys, "a.test", kDay) == "mb20261207-2");
  CHECK(new_selector(keys, "b.test", kDay) == "mb20261207");
}
