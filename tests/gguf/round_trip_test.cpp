// Writer -> Reader round trips: every value type, nested arrays, awkward strings, tensor layout and alignment.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "gguf/ggml_type.h"
#include "gguf/reader.h"
#include "gguf/writer.h"
#include "runtime/error.h"
#include "support/test_data.h"

namespace trit::gguf {
namespace {

class TempDir {
 public:
  TempDir() : path_(trit::testing::make_temp_dir("trit-gguf")) {}
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// A NUL in the middle and two-, three- and four-byte UTF-8 sequences.
constexpr char kAwkwardBytes[] = "nul\0inside \xC3\xA9\xE2\x80\x94\xF0\x9F\x98\x80 end";
const std::string kAwkward(kAwkwardBytes, sizeof(kAwkwardBytes) - 1);

void add_every_value_type(Writer& w) {
  w.add("t.u8", Value(uint8_t{200}));
  w.add("t.i8", Value(int8_t{-100}));
  w.add("t.u16", Value(uint16_t{65000}));
  w.add("t.i16", Value(int16_t{-32000}));
  w.add("t.u32", Value(uint32_t{4000000000u}));
  w.add("t.i32", Value(int32_t{-2000000000}));
  w.add("t.f32", Value(1.5e-5f));
  w.add("t.bool", Value(true));
  w.add("t.string", Value(kAwkward));
  w.add("t.empty_string", Value(std::string()));
  w.add("t.u64", Value(std::numeric_limits<uint64_t>::max()));
  w.add("t.i64", Value(std::numeric_limits<int64_t>::min()));
  w.add("t.f64", Value(-2.718281828459045));
  w.add("t.array_f32", Value(Array{ValueType::FLOAT32, {Value(0.25f), Value(-1.0f)}}));
  w.add("t.array_string",
        Value(Array{ValueType::STRING, {Value(std::string("a")), Value(kAwkward), Value(std::string())}}));
  w.add("t.array_empty", Value(Array{ValueType::UINT64, {}}));
  Array inner1{ValueType::INT32, {Value(int32_t{1}), Value(int32_t{2})}};
  Array inner2{ValueType::INT32, {Value(int32_t{-3})}};
  Array nested{ValueType::ARRAY, {Value(inner1), Value(inner2)}};
  w.add("t.nested", Value(Array{ValueType::ARRAY, {Value(nested), Value(Array{ValueType::ARRAY, {}})}}));
  w.add("t.array_bool", Value(Array{ValueType::BOOL, {Value(true), Value(false)}}));
}

TEST(GgufRoundTrip, EveryValueTypeSurvives) {
  TempDir dir;
  const auto path = dir.file("values.gguf");
  {
    Writer w(path);
    add_every_value_type(w);
    w.finish();
  }
  const auto r = Reader::open(path);
  EXPECT_EQ(r.version(), 3u);
  EXPECT_EQ(r.alignment(), 32u);
  EXPECT_TRUE(r.tensors().empty());
  EXPECT_EQ(r.file_size() % 32, 0u);
  EXPECT_EQ(r.data_offset(), r.file_size());
  ASSERT_EQ(r.metadata().size(), 18u);
  EXPECT_EQ(r.metadata()[0].first, "t.u8");  // file order kept
  EXPECT_EQ(r.metadata()[17].first, "t.array_bool");
  EXPECT_EQ(r.find("general.alignment"), nullptr);  // default alignment is not written

  EXPECT_EQ(std::get<uint8_t>(r.find("t.u8")->storage()), 200);
  EXPECT_EQ(std::get<int8_t>(r.find("t.i8")->storage()), -100);
  EXPECT_EQ(std::get<uint16_t>(r.find("t.u16")->storage()), 65000);
  EXPECT_EQ(std::get<int16_t>(r.find("t.i16")->storage()), -32000);
  EXPECT_EQ(std::get<uint32_t>(r.find("t.u32")->storage()), 4000000000u);
  EXPECT_EQ(r.get_int("t.i32"), -2000000000);
  EXPECT_EQ(std::get<float>(r.find("t.f32")->storage()), 1.5e-5f);
  EXPECT_TRUE(r.get_bool("t.bool"));
  EXPECT_EQ(r.get_string("t.string"), kAwkward);
  EXPECT_EQ(r.get_string("t.string").size(), 24u);
  EXPECT_EQ(r.get_string("t.empty_string"), "");
  EXPECT_EQ(std::get<uint64_t>(r.find("t.u64")->storage()), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(r.get_int("t.i64"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(r.get_float("t.f64"), -2.718281828459045);

  const Array& f = r.get_array("t.array_f32");
  EXPECT_EQ(f.element_type, ValueType::FLOAT32);
  ASSERT_EQ(f.items.size(), 2u);
  EXPECT_EQ(std::get<float>(f.items[1].storage()), -1.0f);
  const Array& s = r.get_array("t.array_string");
  ASSERT_EQ(s.items.size(), 3u);
  EXPECT_EQ(*s.items[1].as_string(), kAwkward);
  EXPECT_EQ(*s.items[2].as_string(), "");
  EXPECT_TRUE(r.get_array("t.array_empty").items.empty());
  EXPECT_EQ(r.get_array("t.array_empty").element_type, ValueType::UINT64);

  const Array& outer = r.get_array("t.nested");
  EXPECT_EQ(outer.element_type, ValueType::ARRAY);
  ASSERT_EQ(outer.items.size(), 2u);
  const Array& nested = *outer.items[0].as_array();
  ASSERT_EQ(nested.items.size(), 2u);
  const Array& inner1 = *nested.items[0].as_array();
  EXPECT_EQ(inner1.element_type, ValueType::INT32);
  ASSERT_EQ(inner1.items.size(), 2u);
  EXPECT_EQ(std::get<int32_t>(inner1.items[1].storage()), 2);
  EXPECT_EQ(std::get<int32_t>(nested.items[1].as_array()->items[0].storage()), -3);
  EXPECT_TRUE(outer.items[1].as_array()->items.empty());
  const Array& b = r.get_array("t.array_bool");
  EXPECT_EQ(*b.items[0].as_bool(), true);
  EXPECT_EQ(*b.items[1].as_bool(), false);
}

TEST(GgufRoundTrip, TypedGettersNameTheKeyAndType) {
  TempDir dir;
  const auto path = dir.file("getters.gguf");
  {
    Writer w(path);
    add_every_value_type(w);
    w.finish();
  }
  const auto r = Reader::open(path);
  EXPECT_EQ(r.find_int("absent"), std::nullopt);
  EXPECT_EQ(r.find_string("absent"), std::nullopt);
  EXPECT_EQ(r.find_array("absent"), nullptr);
  EXPECT_EQ(r.get_float("t.u8"), 200.0);  // integers convert to float
  EXPECT_EQ(*r.find_int("t.u32"), 4000000000);
  try {
    r.get_int("llama.block_count");
    FAIL();
  } catch (const trit::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": metadata key 'llama.block_count' is missing");
  }
  try {
    r.get_int("t.string");
    FAIL();
  } catch (const trit::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": metadata key 't.string' has type string, expected an integer");
  }
  EXPECT_THROW(r.get_int("t.u64"), trit::Error);  // 2^64-1 does not fit int64
  EXPECT_THROW(r.get_int("t.f32"), trit::Error);
  EXPECT_THROW(r.get_string("t.u8"), trit::Error);
  EXPECT_THROW(r.get_bool("t.u8"), trit::Error);
  EXPECT_THROW(r.get_float("t.bool"), trit::Error);
  EXPECT_THROW(r.find_array("t.string"), trit::Error);
  EXPECT_THROW(r.tensor("blk.0.attn_q.weight"), trit::Error);
}

class GgufTensorRoundTrip : public ::testing::TestWithParam<uint64_t> {};

TEST_P(GgufTensorRoundTrip, TensorDataViewsAreExactAndAligned) {
  const uint64_t alignment = GetParam();
  TempDir dir;
  const auto path = dir.file("tensors.gguf");
  struct Spec {
    std::string name;
    std::vector<uint64_t> shape;
    GgmlType type;
    uint64_t n_bytes;
  };
  const std::vector<Spec> specs = {
      {"token_embd.weight", {4, 3}, GgmlType::F32, 48},
      {"blk.0.attn_q.weight", {64, 2}, GgmlType::Q8_0, 2 * 2 * 34},
      {"blk.0.ffn_up.weight", {128, 4}, GgmlType::I2_S, 128 * 4 / 4 + 32},
      {"empty", {0, 5}, GgmlType::F32, 0},
      {"output_norm.weight", {3}, GgmlType::F16, 6},
  };
  std::vector<std::vector<uint8_t>> data;
  {
    Writer w(path, alignment);
    w.add("general.architecture", Value(std::string("bitnet")));
    for (const auto& s : specs) w.add_tensor(s.name, s.shape, static_cast<uint32_t>(s.type));
    for (size_t i = 0; i < specs.size(); ++i) {
      data.push_back(pattern(specs[i].n_bytes, static_cast<uint8_t>(i * 31 + 1)));
      // Several chunks per tensor: 1 byte, then the rest in two pieces.
      std::span<const uint8_t> all = data.back();
      const size_t first = std::min<size_t>(1, all.size());
      const size_t second = (all.size() - first) / 2;
      w.write_tensor_data(all.subspan(0, first));
      w.write_tensor_data(all.subspan(first, second));
      w.write_tensor_data(all.subspan(first + second));
    }
    EXPECT_GT(w.total_data_bytes(), 0u);
    w.finish();
  }
  auto r = Reader::open(path);
  EXPECT_EQ(r.alignment(), alignment);
  if (alignment != 32) {
    EXPECT_EQ(r.get_int("general.alignment"), static_cast<int64_t>(alignment));
  } else {
    EXPECT_EQ(r.find("general.alignment"), nullptr);
  }
  EXPECT_EQ(r.data_offset() % alignment, 0u);
  EXPECT_EQ(r.file_size() % alignment, 0u);
  ASSERT_EQ(r.tensors().size(), specs.size());
  const uint8_t* base = r.tensors()[0].data.data() - r.data_offset() - r.tensors()[0].offset;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorInfo& t = r.tensors()[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.name, specs[i].name);
    EXPECT_EQ(t.shape, specs[i].shape);
    EXPECT_EQ(t.type(), specs[i].type);
    EXPECT_EQ(t.n_bytes, specs[i].n_bytes);
    EXPECT_EQ(t.offset % alignment, 0u);
    EXPECT_EQ(t.data.size(), specs[i].n_bytes);
    EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), data[i].begin(), data[i].end()));
    if (!t.data.empty()) {
      EXPECT_EQ(static_cast<uint64_t>(t.data.data() - base), r.data_offset() + t.offset);
    }
    EXPECT_EQ(&r.tensor(t.name), &t);
  }
  EXPECT_EQ(r.tensor("token_embd.weight").n_elements(), 12u);
  EXPECT_EQ(r.tensor("empty").n_elements(), 0u);
  EXPECT_EQ(r.find_tensor("nope"), nullptr);

  // Padding between tensors is zeros: the bytes after token_embd.weight up to the next tensor.
  const auto mapped = runtime::MappedFile::open(path);
  const auto& t0 = r.tensors()[0];
  const auto& t1 = r.tensors()[1];
  for (uint64_t i = r.data_offset() + t0.offset + t0.n_bytes; i < r.data_offset() + t1.offset; ++i)
    EXPECT_EQ(mapped.bytes()[i], 0) << "byte " << i;
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufTensorRoundTrip, ::testing::Values(32, 64, 1, 4096));

TEST(GgufReader, DataLoadedIntoMemoryEqualsTheMappedBytes) {
  TempDir dir;
  const auto path = dir.file("loaded.gguf");
  const auto a = pattern(1000, 3), b = pattern(256 * 4 / 4 + 32, 7);
  {
    Writer w(path);
    w.add("general.architecture", Value(std::string("bitnet")));
    w.add_tensor("a", {250}, static_cast<uint32_t>(GgmlType::F32));
    w.add_tensor("b", {256, 4}, static_cast<uint32_t>(GgmlType::I2_S));
    // c starts 32 bytes past a cache line in the file (b is 288 bytes, the file aligns to 32).
    w.add_tensor("c", {250}, static_cast<uint32_t>(GgmlType::F32));
    w.write_tensor_data(a);
    w.write_tensor_data(b);
    w.write_tensor_data(a);
    w.finish();
  }
  auto r = Reader::open(path);
  EXPECT_FALSE(r.data_in_memory());
  EXPECT_EQ(r.tensor("c").offset % 64, 32u);
  const uint8_t* mapped = r.tensor("b").data.data();
  r.load_data_into_memory(/*show_progress=*/false);
  EXPECT_TRUE(r.data_in_memory());
  EXPECT_NE(r.tensor("b").data.data(), mapped);
  EXPECT_TRUE(std::equal(r.tensor("a").data.begin(), r.tensor("a").data.end(), a.begin(), a.end()));
  EXPECT_TRUE(std::equal(r.tensor("b").data.begin(), r.tensor("b").data.end(), b.begin(), b.end()));
  EXPECT_TRUE(std::equal(r.tensor("c").data.begin(), r.tensor("c").data.end(), a.begin(), a.end()));
  // In memory every tensor starts on a cache line, whatever the file's alignment.
  for (const char* name : {"a", "b", "c"})
    EXPECT_EQ(reinterpret_cast<uintptr_t>(r.tensor(name).data.data()) % 64, 0u) << name;
  // Moving the reader keeps the views valid.
  Reader moved = std::move(r);
  EXPECT_TRUE(std::equal(moved.tensor("b").data.begin(), moved.tensor("b").data.end(), b.begin(), b.end()));
  // Releasing one tensor empties its view and leaves the others alone.
  moved.release_tensor_data("b");
  EXPECT_TRUE(moved.tensor("b").data.empty());
  EXPECT_TRUE(std::equal(moved.tensor("a").data.begin(), moved.tensor("a").data.end(), a.begin(), a.end()));
}

TEST(GgufWriter, TooManyBytesForATensorFails) {
  TempDir dir;
  const auto path = dir.file("over.gguf");
  Writer w(path);
  w.add_tensor("a", {4}, static_cast<uint32_t>(GgmlType::F32));
  w.write_tensor_data(pattern(8, 0));
  try {
    w.write_tensor_data(pattern(9, 0));
    FAIL();
  } catch (const trit::Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": tensor 'a' holds 16 bytes, but 17 were written to it");
  }
  w.write_tensor_data(pattern(8, 0));
  EXPECT_THROW(w.write_tensor_data(pattern(1, 0)), trit::Error);  // after the last tensor
  w.finish();
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(GgufWriter, FinishingEarlyFailsAndTheFileIsRemoved) {
  TempDir dir;
  const auto path = dir.file("early.gguf");
  {
    Writer w(path);
    w.add_tensor("a", {4}, static_cast<uint32_t>(GgmlType::F32));
    w.add_tensor("b", {4}, static_cast<uint32_t>(GgmlType::F32));
    w.write_tensor_data(pattern(16, 0));
    w.write_tensor_data(pattern(3, 0));
    try {
      w.finish();
      FAIL();
    } catch (const trit::Error& e) {
      EXPECT_NE(std::string(e.what()).find("tensor 'b' incomplete (3 of 16 bytes written"), std::string::npos)
          << e.what();
    }
    EXPECT_TRUE(std::filesystem::exists(path));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufWriter, AbandonedWriterRemovesItsFile) {
  TempDir dir;
  const auto path = dir.file("abandoned.gguf");
  {
    Writer w(path);
    w.add("a", Value(uint32_t{1}));
  }
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufWriter, UncreatableFileNamesThePath) {
  try {
    Writer w("/nonexistent-dir/x/model.gguf");
    FAIL();
  } catch (const trit::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent-dir/x/model.gguf: cannot create the file", 0), 0u) << e.what();
  }
}

TEST(GgufWriter, RefusesBadInput) {
  TempDir dir;
  const auto path = dir.file("bad.gguf");
  Writer w(path);
  w.add("k", Value(uint32_t{1}));
  EXPECT_THROW(w.add("k", Value(uint32_t{2})), trit::Error);
  EXPECT_THROW(w.add("general.alignment", Value(uint32_t{64})), trit::Error);  // differs from the writer's
  w.add_tensor("t", {32}, static_cast<uint32_t>(GgmlType::Q8_0));
  EXPECT_THROW(w.add_tensor("t", {32}, static_cast<uint32_t>(GgmlType::Q8_0)), trit::Error);
  EXPECT_THROW(w.add_tensor("u", {33}, static_cast<uint32_t>(GgmlType::Q8_0)), trit::Error);
  EXPECT_THROW(w.add_tensor("v", {1}, 99), trit::Error);
  EXPECT_THROW(Writer(dir.file("x.gguf"), 48), trit::Error);
}

}  // namespace
}  // namespace trit::gguf
