// `trit embed` as a real process on generated embedding models (qwen3 and gemma3 shapes): JSON lines,
// raw floats, int8 and binary output, inputs from a file, batching, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_trit.h"
#include "support/test_data.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using Result = trit::testing::RunResult;
using trit::testing::read_file;

class EmbedCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = trit::testing::make_temp_dir("trit-embed-e2e");
    qwen_ = (dir_ / "qwen3.gguf").string();
    gemma_ = (dir_ / "gemma3.gguf").string();
    ASSERT_EQ(run("gen-dummy --shape embed-qwen3-tiny --type i2_s -q -o " + qwen_).exit_code, 0);
    ASSERT_EQ(run("gen-dummy --shape embed-gemma3-tiny --type i2_s -q -o " + gemma_).exit_code, 0);
    std::ofstream(dir_ / "inputs.txt") << "hello world\nthe cat sat\nzebra\n";
  }

  static Result run(const std::string& args) { return trit::testing::run_trit(dir_, args); }

  static std::vector<json> lines(const std::string& out) {
    std::vector<json> v;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) v.push_back(json::parse(line));
    return v;
  }

  static inline fs::path dir_;
  static inline std::string qwen_, gemma_;
};

TEST_F(EmbedCli, JsonLinesHoldOneUnitVectorPerPrompt) {
  for (const std::string& model : {qwen_, gemma_}) {
    const auto r = run("embed -m " + model + " -p 'hello world' -p 'the cat sat' -q");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(r.err.empty()) << r.err;
    const auto v = lines(r.out);
    ASSERT_EQ(v.size(), 2u);
    for (size_t i = 0; i < v.size(); ++i) {
      EXPECT_EQ(v[i]["index"], i);
      const auto e = v[i]["embedding"].get<std::vector<float>>();
      ASSERT_EQ(e.size(), 256u);
      double ss = 0;
      for (float x : e) ss += double(x) * x;
      EXPECT_NEAR(std::sqrt(ss), 1.0, 1e-5);
    }
    EXPECT_NE(v[0]["embedding"], v[1]["embedding"]);
  }
}

TEST_F(EmbedCli, FileInputsInBatchesEqualPromptsOneByOne) {
  const auto file = run("embed -m " + qwen_ + " -f " + (dir_ / "inputs.txt").string() + " --batch 2 -q");
  ASSERT_EQ(file.exit_code, 0) << file.err;
  const auto v = lines(file.out);
  ASSERT_EQ(v.size(), 3u);
  const char* texts[] = {"hello world", "the cat sat", "zebra"};
  for (size_t i = 0; i < 3; ++i) {
    const auto one = run("embed -m " + qwen_ + " -p '" + texts[i] + "' -q --batch 1");
    ASSERT_EQ(one.exit_code, 0) << one.err;
    EXPECT_EQ(lines(one.out)[0]["embedding"], v[i]["embedding"]) << texts[i];
  }
}

TEST_F(EmbedCli, RawFormatIsLittleEndianFloatsOfTheJsonValues) {
  const auto j = run("embed -m " + gemma_ + " -p abc -p xyz -q");
  const auto r = run("embed -m " + gemma_ + " -p abc -p xyz -q --format raw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 2u * 256 * sizeof(float));
  const auto v = lines(j.out);
  for (size_t i = 0; i < 2; ++i) {
    const auto e = v[i]["embedding"].get<std::vector<float>>();
    for (size_t d = 0; d < e.size(); ++d) {
      float x;
      std::memcpy(&x, r.out.data() + (i * 256 + d) * sizeof(float), sizeof(float));
      ASSERT_EQ(x, e[d]) << "input " << i << " dim " << d;
    }
  }
}

TEST_F(EmbedCli, Int8AndBinaryQuantisationFollowTheFloatEmbedding) {
  const auto f = lines(run("embed -m " + qwen_ + " -p 'hello world' -q").out)[0]["embedding"].get<std::vector<float>>();
  const auto r8 = run("embed -m " + qwen_ + " -p 'hello world' -q --quantize int8");
  ASSERT_EQ(r8.exit_code, 0) << r8.err;
  const auto q = lines(r8.out)[0];
  const auto ints = q["embedding"].get<std::vector<int>>();
  const float scale = q["scale"].get<float>();
  ASSERT_EQ(ints.size(), f.size());
  int max_abs = 0;
  for (size_t d = 0; d < f.size(); ++d) {
    EXPECT_NEAR(ints[d] * scale, f[d], scale * 0.5f + 1e-7f);
    max_abs = std::max(max_abs, std::abs(ints[d]));
  }
  EXPECT_EQ(max_abs, 127);

  const auto rb = run("embed -m " + qwen_ + " -p 'hello world' -q --quantize binary --format raw");
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  ASSERT_EQ(rb.out.size(), 256u / 8);
  for (size_t d = 0; d < f.size(); ++d) {
    const bool bit = (static_cast<unsigned char>(rb.out[d / 8]) >> (7 - d % 8)) & 1;
    EXPECT_EQ(bit, f[d] > 0.0f) << "dim " << d;
  }
}

TEST_F(EmbedCli, ProgressAndSpeedGoToStderr) {
  const auto r = run("embed -m " + qwen_ + " -p abc");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("on cpu ("), std::string::npos) << r.err;  // the device it ran on
  EXPECT_EQ(lines(r.out).size(), 1u);
}

// --device: cpu is the default; cuda runs on a GPU (close to the CPU's vectors; tests/cuda pins the
// bound) or, without one or without the CUDA backend, fails naming why; other names are refused.
TEST_F(EmbedCli, DeviceFlagPicksTheBackend) {
  const std::string args = " -p 'hello world' -p zebra -q";
  const auto plain = run("embed -m " + gemma_ + args);
  const auto cpu = run("embed -m " + gemma_ + args + " -d cpu");
  ASSERT_EQ(cpu.exit_code, 0) << cpu.err;
  EXPECT_EQ(cpu.out, plain.out);
  const auto gpu = run("embed -m " + gemma_ + args + " --device cuda");
  if (gpu.exit_code == 0) {
    const auto want = lines(cpu.out), got = lines(gpu.out);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      const auto a = want[i]["embedding"].get<std::vector<double>>(),
                 b = got[i]["embedding"].get<std::vector<double>>();
      ASSERT_EQ(a.size(), b.size());
      double dot = 0;
      for (size_t k = 0; k < a.size(); ++k) dot += a[k] * b[k];
      EXPECT_GT(dot, 0.9999) << "input " << i;
    }
  } else {
    EXPECT_EQ(gpu.exit_code, 1) << gpu.err;
    EXPECT_TRUE(gpu.err.find("no usable GPU") != std::string::npos ||
                gpu.err.find("built without the CUDA backend") != std::string::npos)
        << gpu.err;
  }
  const auto bad = run("embed -m " + gemma_ + args + " -d tpu");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("unknown device 'tpu'"), std::string::npos) << bad.err;
}

TEST_F(EmbedCli, BadInputFailsWithAMessage) {
  auto r = run("embed -m " + qwen_ + " -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("-p TEXT or -f FILE"), std::string::npos) << r.err;
  r = run("embed -m " + qwen_ + " -p 'a long input text' --max-tokens 2 -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("input 0"), std::string::npos) << r.err;
  r = run("embed -m " + qwen_ + " -p x --quantize int4 -q");
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
