// How an embedding model's final hidden states become one vector per input: output_norm on the rows
// the pooling reads, pooled as the file's <arch>.pooling_type says, optionally L2-normalised. Shared by
// every backend (the GPU brings the hidden rows back and pools here), so all give the same vectors.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/backend.h"
#include "model/hparams.h"

namespace trit::model {

// One sequence's embedding (n_embd floats into out) from its final hidden rows before output_norm
// ([n_tokens][n_embd]): last token when the file says none, mean (each normed row summed in double),
// cls (the first row) or last; divided by its L2 norm when `normalize`.
void pool_embedding(const HParams& h, std::span<const float> output_norm, const float* rows, int64_t n_tokens,
                    bool normalize, float* out);

// pool_embedding for every sequence of a batch whose hidden rows lie one sequence after another in `rows`
// (the order of `batch`), into `storage`; the spans (n_embd floats each) point there.
std::vector<std::span<const float>> pool_embeddings(const HParams& h, std::span<const float> output_norm,
                                                    const float* rows, std::span<const SequenceInput> batch,
                                                    bool normalize, std::vector<float>& storage);

}  // namespace trit::model
