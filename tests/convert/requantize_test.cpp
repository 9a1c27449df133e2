// `trit quantize` (convert::requantize): ternary types convert exactly in both directions, float linear
// weights are absmean-ternarised, the embedding changes type on request, and every refusal names the
// tensor and its shape.
#include "convert/requantize.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "model/context.h"
#include "model/dummy.h"
#include "model/model.h"
#include "runtime/error.h"
#include "tensor/codec.h"

namespace trit::convert {
namespace {

namespace fs = std::filesystem;
using gguf::GgmlType;

constexpr uint32_t id(GgmlType t) { return static_cast<uint32_t>(t); }

class RequantizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("trit_requantize_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "_" +
            std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string dummy(const std::string& name, uint32_t type_id = id(GgmlType::I2_S)) const {
    model::DummyOptions o;
    o.path = path(name);
    o.shape = model::find_dummy_shape("tiny");
    o.type_id = type_id;
    o.seed = 7;
    o.show_progress = false;
    model::write_dummy_model(o);
    return o.path;
  }

  std::string convert(const std::string& in, const std::string& out_name, GgmlType type,
                      std::optional<GgmlType> embed = std::nullopt) const {
    RequantizeOptions o;
    o.input = in;
    o.output = path(out_name);
    o.ternary_type = id(type);
    if (embed) o.embed_type = id(*embed);
    o.show_progress = false;
    requantize(o);
    return o.output;
  }

  fs::path dir_;
};

// Logits of every position of a fixed prompt.
std::vector<float> logits(const std::string& file) {
  model::LoadOptions lo;
  lo.show_progress = false;
  const auto m = model::Model::load(file, lo);
  model::ContextOptions co;
  co.n_ctx = 32;
  co.n_threads = 1;
  model::Context ctx(*m, co);
  const std::vector<int32_t> tokens = {1, 300, 17, 411, 260, 99};
  const auto out = ctx.eval(tokens, /*all_logits=*/true);
  return {out.begin(), out.end()};
}

// max |a - b| / max |a|.
double max_relative_change(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double max_abs = 0.0, max_diff = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(a[i])));
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  return max_abs > 0.0 ? max_diff / max_abs : max_diff;
}

bool is_linear(const gguf::TensorInfo& t) { return tensor::is_ternary(t.type_id); }

// Every ternary tensor of `a` and `b` holds the same codes and the same scales.
void expect_same_ternary(const std::string& a, const std::string& b) {
  const auto ra = gguf::Reader::open(a);
  const auto rb = gguf::Reader::open(b);
  ASSERT_EQ(ra.tensors().size(), rb.tensors().size());
  int n = 0;
  for (const auto& ta : ra.tensors()) {
    if (!is_linear(ta)) continue;
    const auto& tb = rb.tensor(ta.name);
    ASSERT_TRUE(is_linear(tb)) << ta.name;
    const auto ma = tensor::unpack_ternary(ta);
    const auto mb = tensor::unpack_ternary(tb);
    EXPECT_EQ(ma.values, mb.values) << ta.name;
    for (int64_t r = 0; r < ma.rows; ++r)
      for (int64_t c = 0; c < ma.cols; c += 256) ASSERT_EQ(ma.scale(r, c), mb.scale(r, c)) << ta.name;
    ++n;
  }
  EXPECT_EQ(n, 14);  // tiny: 2 layers x 7 linear weights
}

TEST_F(RequantizeTest, I2sToTq1ToTq2ToI2sIsBitIdenticalWithIdenticalLogits) {
  // The dummy's ffn_down scale 1/sqrt(512) is not an f16 value; going through tq2_0 once rounds it, after
  // which every conversion is exact. Start from that file.
  const std::string base = convert(dummy("orig.gguf"), "base.gguf", GgmlType::TQ2_0);
  const std::string i2s = convert(base, "i2s.gguf", GgmlType::I2_S);
  const std::string tq1 = convert(i2s, "tq1.gguf", GgmlType::TQ1_0);
  const std::string tq2 = convert(tq1, "tq2.gguf", GgmlType::TQ2_0);
  const std::string back = convert(tq2, "back.gguf", GgmlType::I2_S);

  expect_same_ternary(i2s, tq1);
  expect_same_ternary(i2s, tq2);
  // Every tensor of the final I2_S file is byte for byte the first one's.
  const auto r0 = gguf::Reader::open(i2s);
  const auto r1 = gguf::Reader::open(back);
  ASSERT_EQ(r0.tensors().size(), r1.tensors().size());
  for (size_t i = 0; i < r0.tensors().size(); ++i) {
    const auto& a = r0.tensors()[i];
    const auto& b = r1.tensors()[i];
    EXPECT_EQ(a.name, b.name);
    EXPECT_EQ(a.type_id, b.type_id) << a.name;
    EXPECT_TRUE(std::equal(a.data.begin(), a.data.end(), b.data.begin(), b.data.end())) << a.name;
  }
  const auto expected = logits(i2s);
  EXPECT_EQ(logits(tq1), expected);
  EXPECT_EQ(logits(tq2), expected);
  EXPECT_EQ(logits(back), expected);
}

TEST_F(RequantizeTest, PerTensorScaleIsRoundedToF16OnlyOnceAndCodesStayExact) {
  const std::string orig = dummy("orig.gguf");
  const std::string tq1 = convert(orig, "tq1.gguf", GgmlType::TQ1_0);
  const std::string back = convert(tq1, "back.gguf", GgmlType::I2_S);
  const auto ro = gguf::Reader::open(orig);
  const auto rb = gguf::Reader::open(back);
  for (const auto& t : ro.tensors()) {
    if (!is_linear(t)) continue;
    const auto a = tensor::unpack_ternary(t);
    const auto b = tensor::unpack_ternary(rb.tensor(t.name));
    EXPECT_EQ(a.values, b.values) << t.name;
    EXPECT_EQ(b.scales[0], tensor::f16_to_f32(tensor::f32_to_f16(a.scales[0]))) << t.name;
  }
  // The rounded ffn_down scales (relative error <= 2^-11) move the logits a little (more than 2^-11:
  // the int8 activations of the next layers round differently here and there).
  EXPECT_LT(max_relative_change(logits(orig), logits(back)), 0.05);
}

TEST_F(RequantizeTest, OtherTensorsAreCopiedAndFileTypeFollowsTheTarget) {
  const std::string orig = dummy("orig.gguf");
  const auto ro = gguf::Reader::open(orig);
  for (auto [type, ftype] : {std::pair{GgmlType::TQ1_0, 36}, {GgmlType::TQ2_0, 37}, {GgmlType::I2_S, 40}}) {
    const std::string out = convert(orig, gguf::type_name(id(type)) + ".gguf", type);
    const auto r = gguf::Reader::open(out);
    EXPECT_EQ(r.get_int("general.file_type"), ftype);
    ASSERT_EQ(r.metadata().size(), ro.metadata().size());
    for (size_t i = 0; i < r.metadata().size(); ++i) EXPECT_EQ(r.metadata()[i].first, ro.metadata()[i].first);
    EXPECT_EQ(r.get_array("tokenizer.ggml.tokens").items.size(), ro.get_array("tokenizer.ggml.tokens").items.size());
    for (const auto& t : ro.tensors()) {
      const auto& o = r.tensor(t.name);
      EXPECT_EQ(o.shape, t.shape) << t.name;
      if (is_linear(t)) {
        EXPECT_EQ(o.type_id, id(type)) << t.name;
      } else {
        EXPECT_EQ(o.type_id, t.type_id) << t.name;
        EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), o.data.begin(), o.data.end())) << t.name;
      }
    }
  }
}

TEST_F(RequantizeTest, EmbeddingToQ8_0ChangesLogitsOnlySlightly) {
  const std::string orig = dummy("orig.gguf");
  const std::string q8 = convert(orig, "q8.gguf", GgmlType::I2_S, GgmlType::Q8_0);
  const auto r = gguf::Reader::open(q8);
  EXPECT_EQ(r.tensor("token_embd.weight").type_id, id(GgmlType::Q8_0));
  EXPECT_EQ(r.get_int("general.file_type"), 40);
  const double change = max_relative_change(logits(orig), logits(q8));
  EXPECT_GT(change, 0.0);  // it did change
  EXPECT_LT(change, 0.05);
}

TEST_F(RequantizeTest, TernaryValuedFloatWeightsArePackedExactly) {
  // The dummy's F16 linear weights are values * s, like bitnet.cpp's converter output with --outtype f16:
  // packed as bitnet.cpp's llama-quantize does (codes = signs, scale = max|W|), not re-ternarised.
  const std::string f16 = dummy("f16.gguf", id(GgmlType::F16));
  const std::string out = convert(f16, "i2s.gguf", GgmlType::I2_S);
  const auto rf = gguf::Reader::open(f16);
  const auto ro = gguf::Reader::open(out);
  int n = 0;
  for (const auto& t : rf.tensors()) {
    if (t.shape.size() != 2 || !t.name.starts_with("blk.")) continue;
    const auto w = tensor::dequantize(t);
    float max_abs = 0.0f;
    for (float x : w) max_abs = std::max(max_abs, std::fabs(x));
    const auto& o = ro.tensor(t.name);
    ASSERT_EQ(o.type_id, id(GgmlType::I2_S)) << t.name;
    const auto got = tensor::unpack_ternary(o);
    EXPECT_EQ(got.scales[0], max_abs) << t.name;
    for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(static_cast<float>(got.values[i]) * max_abs, w[i]) << t.name;
    ++n;
  }
  EXPECT_EQ(n, 14);
  EXPECT_EQ(ro.tensor("token_embd.weight").type_id, id(GgmlType::F16));  // not a linear weight
}

// A one-layer file written by hand, for shapes and scales the dummy generator does not make.
void write_file(const std::string& path, const std::string& name, std::vector<uint64_t> shape, uint32_t type,
                const std::vector<uint8_t>& bytes) {
  gguf::Writer w(path);
  w.add("general.architecture", gguf::Value(std::string("bitnet")));
  w.add_tensor(name, std::move(shape), type);
  w.write_tensor_data(bytes);
  w.finish();
}

tensor::TernaryMatrix random_ternary(int64_t rows, int64_t cols, int64_t group_size) {
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> d(-1, 1);
  tensor::TernaryMatrix m;
  m.rows = rows;
  m.cols = cols;
  m.group_size = group_size;
  for (int64_t i = 0; i < rows * cols; ++i) m.values.push_back(static_cast<int8_t>(d(rng)));
  m.scales.assign(static_cast<size_t>(rows * (cols / group_size)), 0.5f);
  return m;
}

std::string error_of(const RequantizeOptions& o) {
  try {
    requantize(o);
  } catch (const trit::Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST_F(RequantizeTest, RowsThatDoNotFitTheTargetBlockNameTheTensorAndShape) {
  // 4 rows of 384 weights: i2_s holds it (1536 % 128 == 0), tq1_0's 256-weight blocks do not.
  const auto m = random_ternary(4, 384, 384);
  const std::string in = path("odd.gguf");
  write_file(in, "blk.0.attn_q.weight", {384, 4}, id(GgmlType::I2_S), tensor::pack_ternary(id(GgmlType::I2_S), m));
  RequantizeOptions o;
  o.input = in;
  o.output = path("out.gguf");
  o.ternary_type = id(GgmlType::TQ1_0);
  o.show_progress = false;
  const std::string e = error_of(o);
  EXPECT_NE(e.find("tensor 'blk.0.attn_q.weight' (4 x 384) cannot be stored as tq1_0"), std::string::npos) << e;
  EXPECT_NE(e.find("256-weight blocks"), std::string::npos) << e;
  EXPECT_FALSE(fs::exists(o.output));
}

TEST_F(RequantizeTest, Tq2WithDifferentBlockScalesRefusesI2s) {
  auto m = random_ternary(2, 512, 256);
  m.scales = {0.5f, 0.5f, 0.5f, 0.25f};
  const std::string in = path("tq2.gguf");
  write_file(in, "blk.0.ffn_up.weight", {512, 2}, id(GgmlType::TQ2_0), tensor::pack_ternary(id(GgmlType::TQ2_0), m));
  RequantizeOptions o;
  o.input = in;
  o.output = path("out.gguf");
  o.ternary_type = id(GgmlType::I2_S);
  o.show_progress = false;
  const std::string e = error_of(o);
  EXPECT_NE(e.find("tensor 'blk.0.ffn_up.weight' (2 x 512, tq2_0) has blocks with different scales (0.5 and 0.25)"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(o.output));

  // Blocks whose codes are all zero do not count (llama.cpp writes scale 0 there).
  std::fill(m.values.begin() + 256 + 512, m.values.end(), int8_t{0});
  m.scales = {0.5f, 0.5f, 0.5f, 0.0f};
  write_file(in, "blk.0.ffn_up.weight", {512, 2}, id(GgmlType::TQ2_0), tensor::pack_ternary(id(GgmlType::TQ2_0), m));
  EXPECT_EQ(error_of(o), "(no error)");
  const auto got = tensor::unpack_ternary(gguf::Reader::open(o.output).tensor("blk.0.ffn_up.weight"));
  EXPECT_EQ(got.values, m.values);
  EXPECT_EQ(got.scales[0], 0.5f);
}

TEST_F(RequantizeTest, LatentFloatWeightsAreAbsmeanTernarised) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> w(3 * 256);
  for (auto& x : w) x = normal(rng);
  const uint64_t shape[] = {256, 3};
  const std::string in = path("latent.gguf");
  write_file(in, "blk.0.ffn_gate.weight", {256, 3}, id(GgmlType::F32), tensor::quantize(id(GgmlType::F32), w, shape));
  RequantizeOptions o;
  o.input = in;
  o.output = path("out.gguf");
  o.ternary_type = id(GgmlType::TQ2_0);
  o.show_progress = false;
  const auto summary = requantize(o);
  EXPECT_EQ(summary.n_ternarised, 1);
  const auto expected = tensor::ternarize_absmean(w, 3, 256);
  const auto got = tensor::unpack_ternary(gguf::Reader::open(o.output).tensor("blk.0.ffn_gate.weight"));
  EXPECT_EQ(got.values, expected.values);
  EXPECT_EQ(got.scales[0], tensor::f16_to_f32(tensor::f32_to_f16(expected.scales[0])));
}

TEST_F(RequantizeTest, UntiedOutputTakesOutputType) {
  std::vector<float> w(4 * 64);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 17) * 0.125f - 1.0f;
  const uint64_t shape[] = {64, 4};
  const std::string in = path("untied.gguf");
  write_file(in, "output.weight", {64, 4}, id(GgmlType::F16), tensor::quantize(id(GgmlType::F16), w, shape));
  RequantizeOptions o;
  o.input = in;
  o.output = path("out.gguf");
  o.ternary_type = id(GgmlType::I2_S);
  o.output_type = id(GgmlType::Q8_0);
  o.show_progress = false;
  EXPECT_FALSE(requantize(o).output_type_unused);
  const auto r = gguf::Reader::open(o.output);
  const auto& t = r.tensor("output.weight");
  EXPECT_EQ(t.type_id, id(GgmlType::Q8_0));
  EXPECT_EQ(t.data.size(), 4u * 2 * 34);
  const auto back = tensor::dequantize(t);
  for (size_t i = 0; i < w.size(); ++i) EXPECT_NEAR(back[i], w[i], 1e-2f) << i;

  // A tied model has nothing for --output-type to do; the summary says so.
  o.input = dummy("tied.gguf");
  o.output = path("tied-out.gguf");
  EXPECT_TRUE(requantize(o).output_type_unused);
}

TEST_F(RequantizeTest, UnknownTypesAndSameFileAreRefused) {
  auto message = [](auto f) {
    try {
      f();
    } catch (const trit::Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_EQ(message([] { parse_ternary_type("q4_0", "TYPE"); }),
            "TYPE: unknown type 'q4_0' (choose one of: i2_s, tq1_0, tq2_0)");
  EXPECT_EQ(message([] { parse_float_type("q6_k", "--embed-type"); }),
            "--embed-type: unknown type 'q6_k' (choose one of: f16, bf16, q8_0, f32)");
  EXPECT_EQ(parse_ternary_type("TQ1_0", "TYPE"), id(GgmlType::TQ1_0));
  EXPECT_EQ(parse_float_type("BF16", "--output-type"), id(GgmlType::BF16));

  const std::string orig = dummy("orig.gguf");
  RequantizeOptions o;
  o.input = orig;
  o.output = orig;
  o.ternary_type = id(GgmlType::TQ2_0);
  o.show_progress = false;
  EXPECT_NE(error_of(o).find("the output file is the input file"), std::string::npos);
}

}  // namespace
}  // namespace trit::convert
