// `--device` on the command line and `trit eval`, as real processes. On a machine without a GPU (CI)
// asking for CUDA is a clear error naming why, never a crash; `trit eval` writes every position's logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "support/run_trit.h"
#include "support/test_data.h"

namespace {

namespace fs = std::filesystem;
using trit::testing::read_file;

class DeviceCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = trit::testing::make_temp_dir("trit-device");
    model_ = (dir_ / "tiny.gguf").string();
    ASSERT_EQ(run("gen-dummy --shape tiny --type i2_s -q -o " + model_).exit_code, 0);
  }
  static trit::testing::RunResult run(const std::string& args) { return trit::testing::run_trit(dir_, args); }
  static std::vector<float> floats(const fs::path& path) {
    const std::string bytes = read_file(path);
    std::vector<float> v(bytes.size() / sizeof(float));
    std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
    return v;
  }
  static inline fs::path dir_;
  static inline std::string model_;
};

TEST_F(DeviceCli, UnknownDeviceIsRefusedByName) {
  const auto r = run("run -m " + model_ + " -p hi -n 2 --device tpu");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown device 'tpu' (expected cpu, cuda or cuda:N)"), std::string::npos) << r.err;
}

// Without a GPU (or without the CUDA backend in this build) the request fails cleanly with the reason;
// with one it runs. Both spellings: --device cuda and llama.cpp's layer offload count.
TEST_F(DeviceCli, CudaWithoutAGpuIsAClearErrorNotACrash) {
  for (const std::string flags : {"--device cuda", "--ngl 99", "--device cuda:0"}) {
    const auto r = run("run -m " + model_ + " -p hi -n 2 -q " + flags);
    if (r.exit_code == 0) continue;  // a machine with a GPU
    EXPECT_EQ(r.exit_code, 1) << flags << ": " << r.err;
    const bool explained = r.err.find("no usable GPU") != std::string::npos ||
                           r.err.find("built without the CUDA backend") != std::string::npos;
    EXPECT_TRUE(explained) << flags << ": " << r.err;
  }
  const auto bench = run("bench -m " + model_ + " -p 4 -n 4 -r 1 -d cuda");
  if (bench.exit_code != 0) {
    EXPECT_EQ(bench.exit_code, 1) << bench.err;
  }
}

TEST_F(DeviceCli, EvalWritesEveryPositionsLogitsAndDecodeMatchesTheBatch) {
  const std::string tokens = "1,50,300,7,99,12";
  const fs::path batch = dir_ / "batch.bin", decode = dir_ / "decode.bin";
  auto r = run("eval -m " + model_ + " -q --cache-type f32 --tokens " + tokens + " -o " + batch.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run("eval -m " + model_ + " -q --cache-type f32 --decode --tokens " + tokens + " -o " + decode.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto a = floats(batch), b = floats(decode);
  ASSERT_EQ(a.size(), 6u * 512u);  // tiny: a 512-token vocabulary
  // With an f32 cache the one-token path and the batch path compute every position alike.
  EXPECT_EQ(a, b);
  // stdout: the greedy next token after each position.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ' '), 5) << r.out;
}

TEST_F(DeviceCli, EvalRefusesBadTokenLists) {
  auto r = run("eval -m " + model_ + " --tokens 1,x,3 -o " + (dir_ / "x.bin").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--tokens: 'x' is not a token id"), std::string::npos) << r.err;
  r = run("eval -m " + model_ + " --tokens 1,99999 -o " + (dir_ / "x.bin").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("token id 99999 is out of range"), std::string::npos) << r.err;
  r = run("eval -m " + model_ + " -o " + (dir_ / "x.bin").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("exactly one of --tokens and -p/--prompt"), std::string::npos) << r.err;
}

}  // namespace
