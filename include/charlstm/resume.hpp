// charlstm/resume.hpp: the settings of a run that continues from a checkpoint, the flags given
// for it against what the checkpoint says: a resumed run (--resume) keeps the checkpoint's stored
// settings, a fine-tuning run (--init-from) its architecture and token kind; an explicit flag that
// contradicts them is an error naming both values.  Not the settings' validation or their
// checkpoint reader (training.hpp), nor the vocabulary's growth (fine_tune.hpp).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "checkpoint.hpp"
#include "model.hpp"
#include "training.hpp"

namespace charlstm {

// A flag whose value differs between two configurations, both values as text.
struct config_difference {
  std::string flag, given, stored;
};

// The stored settings of `given` that differ from `stored`, by flag (--corpus, --mode, ...).
inline std::vector<config_difference> stored_differences(const training_config& stored,
                                                         const training_config& given) {
  using training_detail::general;
  std::vector<config_difference> out;
  const auto number = [&](const char* flag, double a, double b) {
    if (a != b) out.push_back({flag, general(a), general(b)});
  };
  const auto count = [&](const char* flag, long long a, long long b) {
    if (a != b) out.push_back({flag, std::to_string(a), std::to_string(b)});
  };
  const auto text = [&](const char* flag, const std::string& a, const std::string& b) {
    if (a != b) out.push_back({flag, a, b});
  };
  if (given.corpus != stored.corpus) {
    out.push_back(
        {"--corpus", corpus_setting_text(given.corpus), corpus_setting_text(stored.corpus)});
  }
  text("--mode", mode_name(given.mode), mode_name(stored.mode));
  count("--seq-len", given.seq_len, stored.seq_len);
  count("--maxlen", given.maxlen, stored.maxlen);
  count("--step", given.step, stored.step);
  count("--batch", given.batch, stored.batch);
  count("--hidden", given.hidden, stored.hidden);
  count("--layers", given.layers, stored.layers);
  text("--optimizer", optimizer_name(given.optimizer), optimizer_name(stored.optimizer));
  number("--lr", given.lr, stored.lr);
  number("--lr-decay", given.lr_decay, stored.lr_decay);
  count("--lr-decay-after", given.lr_decay_after, stored.lr_decay_after);
  count("--patience", given.patience, stored.patience);
  number("--dropout", given.dropout, stored.dropout);
  number("--clip-norm", given.clip_norm, stored.clip_norm);
  number("--val-fraction", given.val_fraction, stored.val_fraction);
  text("--lowercase", given.lowercase ? "on" : "off", stored.lowercase ? "on" : "off");
  count("--seed", static_cast<long long>(given.seed), static_cast<long long>(stored.seed));
  return out;
}

// A resumed run's configuration: the checkpoint's stored settings, and this run's own ones
// (epochs, limits, threads, sampling, out, vocabulary caps) from `given`.  A stored setting that
// `given` changes counts only when `explicitly(flag)` says its flag was given; then it is an
// error naming both values, except for those a resumed run may change: --lr, --lr-decay,
// --lr-decay-after, --patience, --clip-norm, --dropout, and at an epoch boundary --corpus and
// --val-fraction (part-way through an epoch they would change its batches).
//   training_config c = resumed_config(read_training_config(info, m), flags, state,
//                                      [&](const std::string& f) { return cmd.count(f) != 0; });
// Pitfall: a flag not given explicitly takes the checkpoint's value even when `given` holds
// another (a default), so `explicitly` must say what the user typed, not what differs.
template <class S>
training_config resumed_config(training_config stored, const training_config& given,
                               const training_state<S>& state,
                               const std::function<bool(const std::string& flag)>& explicitly) {
  static const char* const adjustable[] = {"--lr",           "--lr-decay",  "--lr-decay-after",
                                           "--patience",     "--clip-norm", "--dropout",
                                           "--val-fraction", "--corpus"};
  for (const config_difference& d : stored_differences(stored, given)) {
    if (!explicitly(d.flag)) continue;  // not given: the checkpoint's
    bool may_change = false;
    for (const char* flag : adjustable) may_change = may_change || d.flag == flag;
    require(may_change, d.flag + " " + d.given + " differs from the checkpoint's " + d.stored);
    require(state.epoch_batch == 0 || (d.flag != "--corpus" && d.flag != "--val-fraction"),
            d.flag + " " + d.given + " differs from the checkpoint's " + d.stored +
                ", which stopped part-way through epoch " + std::to_string(state.epoch + 1) +
                ": resume that epoch with the checkpoint's");
    if (d.flag == "--lr") stored.lr = given.lr;
    if (d.flag == "--lr-decay") stored.lr_decay = given.lr_decay;
    if (d.flag == "--lr-decay-after") stored.lr_decay_after = given.lr_decay_after;
    if (d.flag == "--patience") stored.patience = given.patience;
    if (d.flag == "--clip-norm") stored.clip_norm = given.clip_norm;
    if (d.flag == "--dropout") stored.dropout = given.dropout;
    if (d.flag == "--val-fraction") stored.val_fraction = given.val_fraction;
    if (d.flag == "--corpus") stored.corpus = given.corpus;
  }
  const auto kind = [](token_kind k) { return k == token_kind::word ? "word" : "char"; };
  require(!explicitly("--tokens") || given.tokens == stored.tokens,
          std::string("--tokens ") + kind(given.tokens) + " differs from the checkpoint's " +
              kind(stored.tokens));
  // This run's own settings.
  stored.max_vocab = given.max_vocab;
  stored.max_char_vocab = given.max_char_vocab;
  stored.epochs = given.epochs;
  stored.max_steps = given.max_steps;
  stored.time_limit = given.time_limit;
  stored.threads = given.threads;
  stored.log_every = given.log_every;
  stored.sample_length = given.sample_length;
  stored.temperatures = given.temperatures;
  stored.out = given.out;
  return stored;
}

// A fine-tuning run's configuration (--init-from `path`): the flags' `c` with the architecture
// and token kind of `base` (an explicitly given --hidden, --layers or --tokens that contradicts
// them is an error naming both values) and, unless --lowercase or --no-lowercase was given, the
// case `base` was trained with.  Everything else is a fresh run's, from the flags.
//   c = fine_tuning_config(c, base, base_info, "old.safetensors", given);
// Pitfall: the vocabulary is not here: grown_vocabulary (fine_tune.hpp) grows it from the text.
template <class S>
training_config fine_tuning_config(training_config c, const model<S>& base,
                                   const checkpoint_info& info, const std::string& path,
                                   const std::function<bool(const std::string& flag)>& explicitly) {
  const auto keep = [&](const char* flag, const std::string& given, const std::string& stored) {
    require(!explicitly(flag) || given == stored,
            std::string(flag) + " " + given + " differs from " + stored + ", the --init-from " +
                "model's: fine-tuning keeps the model's architecture (leave " + flag + " out)");
  };
  const auto kind = [](token_kind k) {
    return std::string(k == token_kind::word ? "word" : "char");
  };
  keep("--hidden", std::to_string(c.hidden), std::to_string(base.hidden_size()));
  keep("--layers", std::to_string(c.layers), std::to_string(base.layers()));
  keep("--tokens", kind(c.tokens), kind(info.vocab.kind()));
  c.hidden = base.hidden_size();
  c.layers = base.layers();
  c.tokens = info.vocab.kind();
  const auto lower = info.metadata.find("lowercase");
  if (!explicitly("--lowercase") && lower != info.metadata.end()) {
    require(lower->second == "0" || lower->second == "1",
            "checkpoint metadata 'lowercase' is '" + lower->second + "', not 0 or 1");
    c.lowercase = lower->second == "1";
  }
  c.init_from = path;
  return c;
}

}  // namespace charlstm
