// trit: the command-line entry point. Errors from bad input end the process with a one-line message
// on stderr and exit status 1; stdout carries only the product.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "device/backend_factory.h"
#include "runtime/cpu_features.h"
#include "runtime/error.h"

#ifndef TRIT_VERSION
#define TRIT_VERSION "dev"
#endif

int main(int argc, char** argv) {
  CLI::App app{"trit: fast inference for BitNet b1.58 ternary LLMs", "trit"};
  app.set_version_flag("--version", [] {
    return std::string("trit " TRIT_VERSION ", ") + trit::runtime::describe_cpu() +
           (trit::device::cuda_built() ? "; CUDA backend built in" : "");
  });
  app.require_subcommand(1);
  trit::cli::register_run(app);
  trit::cli::register_chat(app);
  trit::cli::register_inspect(app);
  trit::cli::register_gen_dummy(app);
  trit::cli::register_bench(app);
  trit::cli::register_serve(app);
  trit::cli::register_convert(app);
  trit::cli::register_quantize(app);
  trit::cli::register_pull(app);
  trit::cli::register_train_tokenizer(app);
  trit::cli::register_train(app);
  trit::cli::register_perplexity(app);
  trit::cli::register_embed(app);
  trit::cli::register_eval(app);
  // llama.cpp spells some flags with one dash and several letters, which CLI11 cannot declare.
  std::vector<std::string> args(argv + 1, argv + argc);
  for (auto& a : args)
    if (a == "-np") a = "--parallel";
  std::reverse(args.begin(), args.end());  // CLI11 takes them last-first
  try {
    // A bad TRIT_ISA is reported here, before any thread runs a kernel.
    trit::runtime::active_isa();
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const trit::Error& e) {
    std::fprintf(stderr, "trit: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "trit: error: out of memory\n");
    return 1;
  }
  return 0;
}
