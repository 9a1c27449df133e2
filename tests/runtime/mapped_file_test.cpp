// MappedFile: maps whole files read-only and reports unusable paths precisely.
#include "runtime/mapped_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "runtime/error.h"
#include "support/test_data.h"

namespace trit::runtime {
namespace {

TEST(MappedFile, MapsTheWholeFile) {
  auto dir = testing::make_temp_dir("trit-mmap");
  auto path = dir / "data.bin";
  std::ofstream(path, std::ios::binary) << "hello, ternary world";
  auto file = MappedFile::open(path.string());
  ASSERT_EQ(file.size(), 20u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file.bytes().data()), file.size()), "hello, ternary world");
  MappedFile moved = std::move(file);
  EXPECT_EQ(moved.size(), 20u);
  EXPECT_EQ(file.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  std::filesystem::remove_all(dir);
}

TEST(MappedFile, EmptyFileHasNoBytes) {
  auto dir = testing::make_temp_dir("trit-mmap");
  auto path = dir / "empty.bin";
  std::ofstream(path, std::ios::binary).flush();
  auto file = MappedFile::open(path.string());
  EXPECT_EQ(file.size(), 0u);
  EXPECT_TRUE(file.bytes().empty());
  std::filesystem::remove_all(dir);
}

TEST(MappedFile, MissingFileNamesThePath) {
  try {
    MappedFile::open("/nonexistent/dir/model.gguf");
    FAIL() << "expected trit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/model.gguf: cannot open"), std::string::npos) << e.what();
  }
}

TEST(MappedFile, DirectoryIsRefused) {
  auto dir = testing::make_temp_dir("trit-mmap");
  try {
    MappedFile::open(dir.string());
    FAIL() << "expected trit::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace trit::runtime
