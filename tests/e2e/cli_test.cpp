// `trit` as a real process: generate a model, run it, inspect it, chat with it, and feed it bad input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "support/run_trit.h"
#include "support/test_data.h"

namespace {

namespace fs = std::filesystem;

using Result = trit::testing::RunResult;
using trit::testing::read_file;

class Cli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = trit::testing::make_temp_dir("trit-e2e");
    model_ = (dir_ / "tiny.gguf").string();
    ASSERT_EQ(run("gen-dummy --shape tiny --type i2_s -q -o " + model_).exit_code, 0);
  }

  // Runs `trit <args>` through the shell (args are quoted by the caller where needed).
  static Result run(const std::string& args, const std::string& stdin_text = "", const std::string& env = "") {
    return trit::testing::run_trit(dir_, args, stdin_text, env);
  }

  static inline fs::path dir_;
  static inline std::string model_;
};

TEST_F(Cli, RunStreamsPromptAndGenerationThenReportsSpeed) {
  const auto r = run("run -m " + model_ + " -p 'Once upon a time' -n 12 --temp 0");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Once upon a time", 0), 0u) << r.out;
  EXPECT_GT(r.out.size(), std::string("Once upon a time\n").size());
  EXPECT_NE(r.err.find("prompt: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("tok/s"), std::string::npos) << r.err;
}

TEST_F(Cli, GreedyAndSeededRunsAreReproducible) {
  const std::string greedy = "run -m " + model_ + " -p 'abc' -n 16 --temp 0 -q --no-display-prompt";
  EXPECT_EQ(run(greedy).out, run(greedy).out);
  const std::string seeded = "run -m " + model_ + " -p 'abc' -n 16 --temp 1 --seed 9 -q --no-display-prompt";
  const auto a = run(seeded);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, run(seeded).out);
}

TEST_F(Cli, ShowIdsCountsTheRequestedTokens) {
  const auto r = run("run -m " + model_ + " -p x -n 5 --temp 0 --ignore-eos -q --show-ids");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto pos = r.err.find("generated tokens:");
  ASSERT_NE(pos, std::string::npos) << r.err;
  std::istringstream ids(r.err.substr(pos + 17));
  int n = 0;
  for (int id; ids >> id;) ++n;
  EXPECT_EQ(n, 5);
}

TEST_F(Cli, InspectPrintsMetadataAndTensorTable) {
  const auto r = run("inspect " + model_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s :
       {"general.architecture", "bitnet", "tokenizer.ggml.tokens", "blk.0.attn_q.weight", "i2_s", "token_embd.weight"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
}

TEST_F(Cli, ChatAnswersEachLineFromStdin) {
  const auto r = run("chat -m " + model_ + " -n 4 --temp 0 -q", "Hello\nHow are you?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 2);
}

TEST_F(Cli, EveryRowTypeRunsEndToEnd) {
  for (const char* type : {"tq1_0", "tq2_0", "f16", "q8_0"}) {
    const std::string path = (dir_ / (std::string(type) + ".gguf")).string();
    ASSERT_EQ(run(std::string("gen-dummy --shape tiny -q --type ") + type + " -o " + path).exit_code, 0) << type;
    const auto r = run("run -m " + path + " -p hi -n 4 --temp 0 -q");
    EXPECT_EQ(r.exit_code, 0) << type << ": " << r.err;
  }
}

TEST_F(Cli, QuantizeRepackWritesTheInPlaceLayoutWithTheSameTokens) {
  const std::string tq2 = (dir_ / "repack-in.gguf").string(), out = (dir_ / "repacked.gguf").string();
  ASSERT_EQ(run("gen-dummy --shape tiny -q --type tq2_0 -o " + tq2).exit_code, 0);
  const auto q = run("quantize --repack -q " + tq2 + " " + out);
  ASSERT_EQ(q.exit_code, 0) << q.err;
  const auto table = run("inspect " + out);
  EXPECT_NE(table.out.find("i2_s"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("tq2_0"), std::string::npos) << table.out;
  const std::string gen = " -p 'repack' -n 16 --temp 0 --ignore-eos -q --show-ids";
  const auto before = run("run -m " + tq2 + gen), after = run("run -m " + out + gen + " --mmap");
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  const auto both = run("quantize --repack " + tq2 + " " + out + " tq1_0");
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_NE(both.err.find("--repack"), std::string::npos) << both.err;
  const auto neither = run("quantize " + tq2 + " " + out);
  EXPECT_EQ(neither.exit_code, 1);
  EXPECT_NE(neither.err.find("TYPE"), std::string::npos) << neither.err;
}

TEST_F(Cli, MissingAndTruncatedModelsAreClearErrors) {
  auto r = run("run -m " + (dir_ / "absent.gguf").string() + " -p hi");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("absent.gguf"), std::string::npos) << r.err;

  const fs::path cut = dir_ / "cut.gguf";
  const std::string bytes = read_file(model_);
  {
    std::ofstream f(cut, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  r = run("run -m " + cut.string() + " -p hi -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err.rfind("trit: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("cut.gguf"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");

  const fs::path junk = dir_ / "junk.gguf";
  {
    std::ofstream f(junk, std::ios::binary);
    f << "this is not a model file at all";
  }
  r = run("inspect " + junk.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("junk.gguf"), std::string::npos) << r.err;
}

TEST_F(Cli, BadFlagsAreRefusedWithTheirName) {
  auto r = run("run -m " + model_ + " -p hi --top-p 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("top-p"), std::string::npos) << r.err;
  r = run("gen-dummy --shape 12Q -o " + (dir_ / "x.gguf").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("12Q"), std::string::npos) << r.err;
  r = run("frobnicate");
  EXPECT_NE(r.exit_code, 0);
}

TEST_F(Cli, PromptLongerThanTheContextIsRefused) {
  const auto r = run("run -m " + model_ + " -c 8 -p 'a b c d e f g h i j k l m n o p' -q");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("context"), std::string::npos) << r.err;
}

TEST_F(Cli, EveryKernelLevelGivesTheSameTokens) {
  const std::string args = "run -m " + model_ + " -p 'kernel levels' -n 24 --temp 0 --ignore-eos -q --show-ids";
  const auto best = run(args);
  ASSERT_EQ(best.exit_code, 0) << best.err;
  ASSERT_NE(best.err.find("generated tokens:"), std::string::npos);
  for (const char* level : {"scalar", "avx2", "avxvnni", "avx512"}) {
    const auto r = run(args, "", std::string("TRIT_ISA=") + level);
    if (r.err.find("cannot run") != std::string::npos) continue;  // the CPU lacks this level
    ASSERT_EQ(r.exit_code, 0) << level << ": " << r.err;
    EXPECT_EQ(r.out, best.out) << level;
    EXPECT_EQ(r.err, best.err) << level;
  }
  const auto bad = run(args, "", "TRIT_ISA=sse9");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("sse9"), std::string::npos) << bad.err;
}

TEST_F(Cli, BenchPrintsJsonWithEveryTest) {
  const auto r = run("bench -m " + model_ + " -p 8 -n 4 -t 1,2 -r 1 -o json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* s : {"\"test\": \"pp8\"", "\"test\": \"tg4\"", "\"threads\": 2", "tokens_per_s", "kernels"})
    EXPECT_NE(r.out.find(s), std::string::npos) << s << " in " << r.out;
  const auto md = run("bench -m " + model_ + " -p 8 -n 4 -t 1 -r 1 --roofline");
  ASSERT_EQ(md.exit_code, 0) << md.err;
  EXPECT_NE(md.out.find("| tg4 |"), std::string::npos) << md.out;
  EXPECT_NE(md.out.find("% of roofline"), std::string::npos) << md.out;
}

// With a real LLaMA-2 vocabulary the prompt tokenises exactly as bitnet.cpp's llama-cli does it.
TEST_F(Cli, RealVocabularyTokenisesLikeThePeer) {
  TRIT_REQUIRE_SHARED_DATA();
  const auto vocab = trit::testing::shared_data_dir() / "tokenizers/vectors/ggml-vocab-llama-spm.gguf";
  const std::string path = (dir_ / "spm.gguf").string();
  ASSERT_EQ(run("gen-dummy --shape tiny -q --vocab " + vocab.string() + " -o " + path).exit_code, 0);
  const auto r = run("run -m " + path + " -p 'The capital of France is' -n 2 --temp 0 --verbose-prompt -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("prompt tokens: 1 450 7483 310 3444 338"), std::string::npos) << r.err;
  // A BOS written in the prompt is not doubled by the one the vocabulary adds.
  const auto b = run("run -m " + path + " -p '<s>The capital of France is' -n 2 --temp 0 --verbose-prompt -q");
  EXPECT_NE(b.err.find("prompt tokens: 1 450 7483 310 3444 338"), std::string::npos) << b.err;
}

}  // namespace
