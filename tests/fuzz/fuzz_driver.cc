// Runs a libFuzzer target without libFuzzer: feeds it every file of the corpus directories
// given on the command line, then a fixed number of deterministic pseudo-random inputs and
// byte-level mutations of the corpus entries. Used in regular (GCC, sanitizer) builds so that
// every decoder's "never crash, never assert" contract is exercised by ctest.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::vector<std::vector<uint8_t>> LoadCorpus(int argc, char** argv) {
  std::vector<std::vector<uint8_t>> corpus;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (!std::filesystem::is_directory(argv[i], ec)) continue;
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
  }
  return corpus;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::vector<uint8_t>> corpus = LoadCorpus(argc, argv);
  for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());

  std::mt19937_64 rng(20261121);
  constexpr int kRandomInputs = 20000;
  std::vector<uint8_t> buf;
  for (int i = 0; i < kRandomInputs; ++i) {
    if (!corpus.empty() && i % 2 == 0) {
      buf = corpus[rng() % corpus.size()];
      int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips && !buf.empty(); ++f) {
        switch (rng() % 4) {
          case 0:
            buf[rng() % buf.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
            break;
          case 1:
            buf.resize(rng() % buf.size());
            break;
          case 2:
            buf.insert(buf.begin() + static_cast<long>(rng() % (buf.size() + 1)),
                       static_cast<uint8_t>(rng()));
            break;
          default:
            buf[rng() % buf.size()] = static_cast<uint8_t>(rng());
        }
      }
    } else {
      buf.resize(rng() % 512);
      for (auto& b : buf) b = static_cast<uint8_t>(rng());
    }
    LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::printf("%zu corpus inputs and %d generated inputs ran without a crash\n", corpus.size(),
              kRandomInputs);
  return 0;
}
