// Replays a fuzz target's seed corpus as an ordinary test: every file in the directories
// given on the command line goes through LLVMFuzzerTestOneInput once. Built with g++ for
// `make test`; `make fuzz` links the same targets against libFuzzer instead.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/io/fdio.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  std::size_t n = 0;
  for (int i = 1; i < argc; ++i) {
    DIR* d = opendir(argv[i]);
    if (!d) {
      std::fprintf(stderr, "cannot open corpus directory %s\n", argv[i]);
      return 1;
    }
    std::vector<std::string> files;
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') files.push_back(std::string(argv[i]) + "/" + e->d_name);
    closedir(d);
    for (const auto& f : files) {
      auto data = common::io::read_file(f, 1 << 24);
      if (!data) {
        std::fprintf(stderr, "%s\n", data.message().c_str());
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(data->data()), data->size());
      ++n;
    }
  }
  if (n == 0) {
    std::fprintf(stderr, "empty corpus\n");
    return 1;
  }
  std::printf("%zu corpus inputs replayed\n", n);
  return 0;
}
