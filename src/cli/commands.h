// The subcommands of `trit`: each file cmd_<name>.cpp defines one register function that adds its
// subcommand, flags and callback to the app. main.cpp calls them all.
#pragma once

#include <CLI/CLI.hpp>

namespace trit::cli {

void register_run(CLI::App& app);              // cmd_run.cpp: generate text from a prompt
void register_chat(CLI::App& app);             // cmd_chat.cpp: interactive chat
void register_inspect(CLI::App& app);          // cmd_inspect.cpp: print a GGUF file's metadata and tensors
void register_gen_dummy(CLI::App& app);        // cmd_gen_dummy.cpp: write a model with random ternary weights
void register_bench(CLI::App& app);            // cmd_bench.cpp: prompt and generation speed
void register_serve(CLI::App& app);            // cmd_serve.cpp: the HTTP server
void register_convert(CLI::App& app);          // cmd_convert.cpp: Hugging Face model folder -> GGUF
void register_quantize(CLI::App& app);         // cmd_quantize.cpp: convert a GGUF file's weights between types
void register_pull(CLI::App& app);             // cmd_pull.cpp: download models from the Hugging Face hub
void register_train_tokenizer(CLI::App& app);  // cmd_train_tokenizer.cpp: train a byte-level BPE tokenizer
void register_train(CLI::App& app);            // cmd_train.cpp: train a BitNet b1.58 model on a text
void register_perplexity(CLI::App& app);       // cmd_perplexity.cpp: a model's perplexity on a text
void register_embed(CLI::App& app);            // cmd_embed.cpp: text embeddings from an embedding model
void register_eval(CLI::App& app);             // cmd_eval.cpp: every position's logits as raw float32

}  // namespace trit::cli
