#include "rosetta/data/vocabularies.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>

#include "rosetta/error.h"

namespace rosetta {

namespace fs = std::filesystem;

namespace {

std::string resolve(const std::string& path, const std::string& run_dir) {
  const fs::path p(path);
  return p.is_relative() ? (fs::path(run_dir) / p).string() : path;
}

// "spm8k.model" -> "spm8k.src.model"
std::string with_side(const std::string& path, const std::string& side) {
  fs::path p(path);
  const std::string extension = p.extension().string();
  return p.replace_extension().string() + "." + side + extension;
}

Tokenizer load_or_train(const VocabConfig& vocab, const std::vector<std::string>& inputs, const std::string& path,
                        uint64_t seed, const char* what, const std::vector<std::string>& user_symbols = {}) {
  if (fs::exists(path)) {
    Tokenizer tokenizer = Tokenizer::load(path);
    spdlog::info("{} vocabulary {} ({} pieces)", what, path, tokenizer.vocab_size());
    return tokenizer;
  }
  const auto start = std::chrono::steady_clock::now();
  const TokenizerTraining options{.inputs = inputs,
                                  .vocab_size = vocab.size,
                                  .type = vocab.type == VocabType::bpe ? "bpe" : "unigram",
                                  .character_coverage = vocab.character_coverage,
                                  .max_sentences = vocab.train_sentences,
                                  .seed = seed,
                                  .user_symbols = user_symbols};
  Tokenizer tokenizer = Tokenizer::train(options, path);
  std::string sources;
  for (const auto& input : inputs) sources += (sources.empty() ? "" : " and ") + input;
  spdlog::info("trained a {} {} vocabulary of {} pieces on {} in {:.1f}s: {}", what, options.type,
               tokenizer.vocab_size(), sources,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), path);
  return tokenizer;
}

}  // namespace

Vocabularies Vocabularies::shared(Tokenizer tokenizer) {
  auto one = std::make_shared<const Tokenizer>(std::move(tokenizer));
  return {one, one};
}

void Vocabularies::store(std::map<std::string, std::string>& texts) const {
  if (joint()) {
    texts["vocab"] = source->serialized();
  } else {
    texts["vocab/src"] = source->serialized();
    texts["vocab/tgt"] = target->serialized();
  }
}

Vocabularies Vocabularies::from_texts(const std::map<std::string, std::string>& texts, const std::string& origin) {
  if (auto it = texts.find("vocab"); it != texts.end())
    return shared(Tokenizer::from_bytes(it->second, origin + " (embedded vocabulary)"));
  const auto src = texts.find("vocab/src"), tgt = texts.find("vocab/tgt");
  check(src != texts.end() && tgt != texts.end(), origin, " holds no vocabulary");
  return {std::make_shared<const Tokenizer>(Tokenizer::from_bytes(src->second, origin + " (source vocabulary)")),
          std::make_shared<const Tokenizer>(Tokenizer::from_bytes(tgt->second, origin + " (target vocabulary)"))};
}

VocabularyFiles vocabulary_files(const VocabConfig& vocab, const std::string& run_dir) {
  if (vocab.joint) return {resolve(vocab.model, run_dir), "", ""};
  return {"", resolve(vocab.src_model.empty() ? with_side(vocab.model, "src") : vocab.src_model, run_dir),
          resolve(vocab.tgt_model.empty() ? with_side(vocab.model, "tgt") : vocab.tgt_model, run_dir)};
}

Vocabularies load_or_train_vocabularies(const VocabConfig& vocab, const CorpusPaths& train,
                                        const std::string& run_dir, uint64_t seed,
                                        const std::vector<std::string>& user_symbols) {
  const VocabularyFiles files = vocabulary_files(vocab, run_dir);
  if (train.monolingual())  // a language model: one vocabulary of its text
    return Vocabularies::shared(
        load_or_train(vocab, {train.text}, resolve(vocab.model, run_dir), seed, "joint", user_symbols));
  if (vocab.joint) return Vocabularies::shared(load_or_train(vocab, {train.src, train.tgt}, files.joint, seed, "joint"));
  return {std::make_shared<const Tokenizer>(load_or_train(vocab, {train.src}, files.source, seed, "source")),
          std::make_shared<const Tokenizer>(load_or_train(vocab, {train.tgt}, files.target, seed, "target"))};
}

}  // namespace rosetta
