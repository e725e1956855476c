// The only user of SentencePiece.
#include "rosetta/data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "rosetta/error.h"
#include "rosetta/data/token_matrix.h"

namespace rosetta {

Tokenizer::Tokenizer() : processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

namespace {

void check_special_ids(const sentencepiece::SentencePieceProcessor& p, const std::string& origin) {
  check(p.pad_id() == kPadId && p.unk_id() == kUnkId && p.bos_id() == kBosId && p.eos_id() == kEosId,
        origin, ": the SentencePiece model must use pad 0, unk 1, bos 2, eos 3 (it has pad ", p.pad_id(),
        ", unk ", p.unk_id(), ", bos ", p.bos_id(), ", eos ", p.eos_id(), ")");
}

}  // namespace

Tokenizer Tokenizer::load(const std::string& path) {
  Tokenizer t;
  const auto status = t.processor_->Load(path);
  check(status.ok(), "cannot load SentencePiece model ", path, ": ", status.ToString());
  check_special_ids(*t.processor_, path);
  return t;
}

Tokenizer Tokenizer::from_bytes(const std::string& serialized_model, const std::string& origin) {
  Tokenizer t;
  const auto status = t.processor_->LoadFromSerializedProto(serialized_model);
  check(status.ok(), origin, ": bad SentencePiece model: ", status.ToString());
  check_special_ids(*t.processor_, origin);
  return t;
}

Tokenizer Tokenizer::train(const TokenizerTraining& o, const std::string& model_path) {
  check(!o.inputs.empty(), "tokenizer training needs at least one input file");
  std::string inputs;
  for (const auto& file : o.inputs) {
    check(std::filesystem::exists(file), "tokenizer training input ", file, " does not exist");
    if (!inputs.empty()) inputs += ',';
    inputs += file;
  }
  std::filesystem::path target(model_path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path());
  // SentencePiece writes <prefix>.model and <prefix>.vocab; train under a
  // temporary prefix, then rename, so a crash leaves no half-written model.
  const std::string prefix = model_path + ".training." + std::to_string(::getpid());
  const std::unordered_map<std::string, std::string> args{
      {"input", inputs},
      {"model_prefix", prefix},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"model_type", o.type},
      {"character_coverage", std::to_string(o.character_coverage)},
      {"input_sentence_size", std::to_string(o.max_sentences)},
      {"shuffle_input_sentence", "true"},
      {"hard_vocab_limit", "false"},  // small corpora get a smaller vocabulary, not an error
      {"pad_id", "0"}, {"unk_id", "1"}, {"bos_id", "2"}, {"eos_id", "3"},
      {"minloglevel", "2"},
      {"num_threads", "2"},
  };
  std::string user_symbols;
  for (const std::string& symbol : o.user_symbols) user_symbols += (user_symbols.empty() ? "" : ",") + symbol;
  auto with_symbols = args;
  if (!user_symbols.empty()) with_symbols["user_defined_symbols"] = user_symbols;
  // SentencePiece's trainer keeps global state: one training at a time.
  static std::mutex training;
  std::lock_guard lock(training);
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(o.seed));  // sentence sampling
  const auto status = sentencepiece::SentencePieceTrainer::Train(with_symbols);
  std::filesystem::remove(prefix + ".vocab");
  if (!status.ok()) {
    std::filesystem::remove(prefix + ".model");
    throw Error(concat("SentencePiece training on ", inputs, " failed: ", status.ToString()));
  }
  std::filesystem::rename(prefix + ".model", model_path);
  return load(model_path);
}

std::vector<int32_t> Tokenizer::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = processor_->Encode(text, &ids);
  check(status.ok(), "SentencePiece cannot encode '", text, "': ", status.ToString());
  return {ids.begin(), ids.end()};
}

void Tokenizer::sample_with_seed(uint64_t seed, const std::function<void()>& work) {
  static std::mutex global_seed;  // one seeding at a time: the seed is process-wide
  std::lock_guard lock(global_seed);
  // SentencePiece takes 32 bits: fold the 64 so nearby seeds stay apart.
  seed = (seed ^ (seed >> 31)) * 0x9E3779B97F4A7C15ull;
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(seed >> 32));
  std::exception_ptr failure;
  std::thread([&] {
    try {
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  }).join();
  if (failure) std::rethrow_exception(failure);
}

std::vector<int32_t> Tokenizer::encode_sampled(const std::string& text, float alpha) const {
  std::vector<int> ids;
  const auto status = processor_->SampleEncode(text, -1, alpha, &ids);
  check(status.ok(), "SentencePiece cannot sample '", text, "': ", status.ToString());
  return {ids.begin(), ids.end()};
}

int32_t Tokenizer::id_of(const std::string& piece) const {
  const int id = processor_->PieceToId(piece);
  return id == processor_->unk_id() && piece != processor_->IdToPiece(processor_->unk_id()) ? -1 : id;
}

std::string Tokenizer::piece(int32_t id) const {
  check(id >= 0 && id < processor_->GetPieceSize(), "piece id ", id, " outside the vocabulary of ",
        processor_->GetPieceSize());
  return processor_->IdToPiece(id);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  const std::vector<int> as_int(ids.begin(), ids.end());
  std::string text;
  const auto status = processor_->Decode(as_int, &text);
  check(status.ok(), "SentencePiece cannot decode: ", status.ToString());
  return text;
}

int64_t Tokenizer::vocab_size() const { return processor_->GetPieceSize(); }

std::string Tokenizer::serialized() const { return processor_->serialized_model_proto(); }

}  // namespace rosetta
