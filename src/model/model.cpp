// Model::load: file -> hyperparameters -> tokenizer -> weights, each validated as it enters.
#include "model/model.h"

#include "runtime/error.h"

namespace trit::model {

std::unique_ptr<Model> Model::load(const std::string& path, const LoadOptions& options) {
  std::unique_ptr<Model> m(new Model(gguf::Reader::open(path)));
  m->hparams_ = HParams::from_gguf(m->reader_);
  m->tokenizer_ = tokenizer::Tokenizer::create(tokenizer::Vocab::from_gguf(m->reader_));
  if (m->hparams_.n_vocab == 0) m->hparams_.n_vocab = m->tokenizer_->n_tokens();
  if (m->tokenizer_->n_tokens() > m->hparams_.n_vocab)
    trit::fail("{}: the tokenizer has {} tokens but the model only {} embeddings", path, m->tokenizer_->n_tokens(),
               m->hparams_.n_vocab);
  if (options.load_into_memory) m->reader_.load_data_into_memory(options.show_progress);
  m->weights_ = Weights::load(m->reader_, m->hparams_, options.show_progress, options.output_q8);
  return m;
}

}  // namespace trit::model
