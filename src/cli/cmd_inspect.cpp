// trit inspect: prints a GGUF file's header, metadata and tensor table with totals, on stdout.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "gguf/reader.h"

namespace trit::cli {

namespace {

struct InspectOptions {
  std::string path;
  bool full = false;
  bool no_tensors = false;
};

std::string human_bytes(uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt::format("{:.2f} {}", v, units[u]);
}

void inspect(const InspectOptions& opt) {
  const auto reader = gguf::Reader::open(opt.path);
  fmt::print("file:        {}\n", reader.name());
  fmt::print("version:     {}\n", reader.version());
  fmt::print("alignment:   {}\n", reader.alignment());
  fmt::print("data offset: {}\n", reader.data_offset());
  fmt::print("file size:   {} ({})\n", reader.file_size(), human_bytes(reader.file_size()));
  fmt::print("tensors:     {}\n", reader.tensors().size());

  // --full prints every array item and whole strings.
  const size_t max_chars = opt.full ? std::numeric_limits<size_t>::max() / 2 : 60;
  size_t key_width = 0;
  for (const auto& [key, value] : reader.metadata()) key_width = std::max(key_width, key.size());
  fmt::print("\nmetadata ({} key{}):\n", reader.metadata().size(), reader.metadata().size() == 1 ? "" : "s");
  for (const auto& [key, value] : reader.metadata())
    fmt::print("  {:<{}}  {:<6}  {}\n", key, key_width, gguf::value_type_name(value.type()),
               value.to_display_string(max_chars));

  if (opt.no_tensors) return;
  const auto& tensors = reader.tensors();
  size_t name_width = 4;
  for (const auto& t : tensors) name_width = std::max(name_width, t.name.size());
  fmt::print("\ntensors ({}):\n", tensors.size());
  if (!tensors.empty())
    fmt::print("  {:<{}}  {:<7}  {:<24}  {:>14}  {:>14}\n", "name", name_width, "type", "shape", "bytes", "offset");
  uint64_t n_params = 0, n_bytes = 0;
  for (const auto& t : tensors) {
    fmt::print("  {:<{}}  {:<7}  {:<24}  {:>14}  {:>14}\n", t.name, name_width, gguf::type_name(t.type_id),
               fmt::format("[{}]", fmt::join(t.shape, ", ")), t.n_bytes, t.offset);
    n_params += t.n_elements();
    n_bytes += t.n_bytes;
  }
  fmt::print("\ntotals:\n");
  fmt::print("  parameters:       {}\n", n_params);
  fmt::print("  tensor bytes:     {} ({})\n", n_bytes, human_bytes(n_bytes));
  if (n_params > 0) {
    const double bytes_per_weight = static_cast<double>(n_bytes) / static_cast<double>(n_params);
    fmt::print("  bytes per weight: {:.4f} ({:.4f} bits)\n", bytes_per_weight, bytes_per_weight * 8);
  }
}

}  // namespace

void register_inspect(CLI::App& app) {
  auto opt = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Print a GGUF file's metadata and tensor table");
  cmd->add_option("file", opt->path, "GGUF file")->required();
  cmd->add_flag("--full", opt->full, "Print every array item and whole strings");
  cmd->add_flag("--no-tensors", opt->no_tensors, "Print the header and metadata only");
  cmd->callback([opt] { inspect(*opt); });
}

}  // namespace trit::cli
