// charlstm/checkpoint.hpp: a model, its optimizer's state, its vocabulary and any training state
// in one file, a safetensors container (safetensors.hpp) so that other tools can read the
// weights.  Tensor names, shapes and the gate order are documented in docs/checkpoint.md.
// Saving is atomic (write_file_atomically, file.hpp), so an interrupted save never damages the
// previous checkpoint.  Loading validates every field and every offset before it reads a byte of
// tensor data, and allocates nothing the file's size does not back, however large a model its
// header claims; loading for inference reads the parameters only (no optimizer buffers).
// It reads what it writes (F32 or F64, 1-d or 2-d).
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "file.hpp"
#include "json.hpp"
#include "model.hpp"
#include "optimizer.hpp"
#include "safetensors.hpp"
#include "utf8.hpp"
#include "vocabulary.hpp"
#include "words.hpp"

namespace charlstm {

inline constexpr const char* checkpoint_format = "charlstm";
// Version 2 added stacked layers ("layers", tensors "lstm.l<l>.*"), the optimizer kind
// ("optimizer", Adam's "adam.m.*" and "adam.v.*") and training-state tensors ("state.*").
// Version 1 files (one layer, RMSprop) still load.
inline constexpr int checkpoint_version = 2;

// What a checkpoint holds besides the model: the vocabulary, string metadata that the caller
// owns (hyperparameters, counters, RNG state, a sample window...) and any training-state
// tensors the caller owns, such as sequence mode's carried (h, c), stored under their names,
// which must start with "state.".
struct checkpoint_info {
  token_vocabulary vocab;
  std::map<std::string, std::string> metadata;
  std::map<std::string, matrix<double>> state_tensors;
  std::int64_t steps = 0;  // on load: the optimizer updates the model has had (metadata's)

  checkpoint_info() = default;
  checkpoint_info(token_vocabulary v, std::map<std::string, std::string> meta,
                  std::map<std::string, matrix<double>> state = {})
      : vocab(std::move(v)), metadata(std::move(meta)), state_tensors(std::move(state)) {}
};

namespace checkpoint_detail {

template <class S>
const char* dtype_name() {
  static_assert(std::is_same<S, float>::value || std::is_same<S, double>::value,
                "checkpoints hold float or double");
  return std::is_same<S, float>::value ? "F32" : "F64";
}

inline bool little_endian() {
  const std::uint16_t probe = 1;
  unsigned char first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// Every tensor of a run: the parameters, then the optimizer's state ("rmsprop." or "adam.m.",
// "adam.v." + the parameter's name).
template <class S>
std::vector<typename parameters<S>::tensor_view> all_tensors(model<S>& m,
                                                             optimizer_state<S>& opt) {
  auto views = m.params.tensors();
  for (auto v : opt.tensors()) views.push_back(v);
  return views;
}

// A tensor's shape in the file: parameter vectors 1-d, everything else 2-d (training state
// always, so that a one-column state keeps its shape).
template <class View>
std::vector<std::int64_t> shape_of(const View& t) {
  if (t.cols == 1 && t.name.compare(0, 6, "state.") != 0) return {t.rows};
  return {t.rows, t.cols};
}

[[noreturn]] inline void invalid(const std::string& source, const std::string& why) {
  throw error(source + ": not a valid charlstm checkpoint: " + why +
              "; it is damaged or was not written by charlstm: use another checkpoint or retrain");
}

}  // namespace checkpoint_detail

// The checkpoint of model m, its optimizer state `opt` and `info` as bytes (the file's whole
// content).
template <class S>
std::string checkpoint_bytes(model<S>& m, optimizer_state<S>& opt, const checkpoint_info& info) {
  require(!opt.moments.empty() && opt.moments[0].size() == m.params.size(),
          "save_checkpoint: the optimizer state was made for a model of another shape");
  require(info.vocab.size() == m.vocab_size(),
          "save_checkpoint: the vocabulary has " + std::to_string(info.vocab.size()) +
              " symbols but the model " + std::to_string(m.vocab_size()));
  require(checkpoint_detail::little_endian(), "checkpoints are written on little-endian machines");
  std::map<std::string, std::string> meta = info.metadata;
  meta["format"] = checkpoint_format;
  meta["format_version"] = std::to_string(checkpoint_version);
  // Characters: the code points in order.  Words: the words joined by newlines (a word holds no
  // whitespace).  "tokens" names the kind; a checkpoint without it holds characters.
  if (info.vocab.kind() == token_kind::word) {
    std::u32string joined;
    for (const std::u32string& w : info.vocab.as_words().words)
      joined += (joined.empty() ? U"" : U"\n") + w;
    meta["tokens"] = "word";
    meta["vocabulary"] = encode_utf8(joined);
  } else {
    meta["tokens"] = "char";
    const std::vector<char32_t>& symbols = info.vocab.as_chars().symbols;
    meta["vocabulary"] = encode_utf8(std::u32string(symbols.begin(), symbols.end()));
  }
  meta["vocab_size"] = std::to_string(m.vocab_size());
  meta["hidden_size"] = std::to_string(m.hidden_size());
  meta["layers"] = std::to_string(m.layers());
  meta["optimizer"] = optimizer_name(opt.kind);
  meta["optimizer_steps"] = std::to_string(opt.steps);

  safetensors_writer out(meta);
  auto views = checkpoint_detail::all_tensors(m, opt);
  std::vector<matrix<S>> state_copies;
  state_copies.reserve(info.state_tensors.size());
  for (const auto& kv : info.state_tensors) {
    require(kv.first.compare(0, 6, "state.") == 0 && kv.second.size() > 0,
            "save_checkpoint: state tensor '" + kv.first +
                "' must be non-empty and named \"state.*\"");
    state_copies.push_back(kv.second.template cast<S>());
    views.push_back({kv.first, state_copies.back().data(), kv.second.rows(), kv.second.cols()});
  }
  for (const auto& t : views) {
    // Row-major (C order) as safetensors and PyTorch expect: our storage is column-major.
    const matrix<S> row_major_as_cols =
        Eigen::Map<const matrix<S>>(t.data, t.rows, t.cols).transpose();
    out.add(t.name, checkpoint_detail::dtype_name<S>(), checkpoint_detail::shape_of(t),
            row_major_as_cols.data(),
            static_cast<std::size_t>(row_major_as_cols.size()) * sizeof(S));
  }
  return out.bytes();
}

// A model that has not been trained by a run: saved with a fresh RMSprop state (zeros, step 0).
template <class S>
std::string checkpoint_bytes(model<S>& m, const checkpoint_info& info) {
  optimizer_state<S> fresh(optimizer_kind::rmsprop, m.params);
  return checkpoint_bytes(m, fresh, info);
}

// Saves model m, its optimizer's state (buffers and step count) and `info`, atomically.
//   save_checkpoint("model.safetensors", m, opt, {vocab, {{"maxlen", "60"}}});
// Without `opt`, a fresh RMSprop state is written (a model not trained by a run).
template <class S>
void save_checkpoint(const std::string& path, model<S>& m, optimizer_state<S>& opt,
                     const checkpoint_info& info) {
  write_file_atomically(path, checkpoint_bytes(m, opt, info));
}
template <class S>
void save_checkpoint(const std::string& path, model<S>& m, const checkpoint_info& info) {
  write_file_atomically(path, checkpoint_bytes(m, info));
}

namespace checkpoint_detail {

// Parses checkpoint bytes into a model and its info, and the optimizer's state into *opt unless
// it is null (its tensors are then checked but not read).  Every check happens before any
// tensor byte is read, and every failure throws charlstm::error.
template <class S>
model<S> parse(const std::string& bytes, checkpoint_info& info, const std::string& source,
               optimizer_state<S>* opt) {
  auto fail = [&](const std::string& why) { checkpoint_detail::invalid(source, why); };
  const safetensors_contents file = read_safetensors(bytes, fail);
  const std::size_t data_size = file.data_size;
  info.metadata = file.metadata;
  auto meta_value = [&](const std::string& key) -> const std::string& {
    auto it = info.metadata.find(key);
    if (it == info.metadata.end())
      checkpoint_detail::invalid(source, "metadata has no '" + key + "'");
    return it->second;
  };
  if (meta_value("format") != checkpoint_format)
    fail("metadata format is '" + meta_value("format") + "', not 'charlstm'");
  const std::string& version = meta_value("format_version");
  if (version != "1" && version != std::to_string(checkpoint_version)) {
    fail("format version " + version + " is not 1 or " + std::to_string(checkpoint_version) +
         ": written by a newer charlstm, upgrade to read it");
  }
  auto meta_count = [&](const std::string& key) {
    json_value v;
    v.type = json_value::kind::number;
    v.text = meta_value(key);
    try {
      return v.as_count("metadata '" + key + "'");
    } catch (const error& e) {
      checkpoint_detail::invalid(source, e.what());
    }
  };
  const std::int64_t V = meta_count("vocab_size"), H = meta_count("hidden_size");
  if (V < 1 || V > max_vocab_size)
    fail("vocab_size " + std::to_string(V) + " outside [1, " + std::to_string(max_vocab_size) + "]");
  if (H < 1 || H > max_hidden_size)
    fail("hidden_size " + std::to_string(H) + " outside [1, " + std::to_string(max_hidden_size) +
         "]");
  const auto tokens = info.metadata.find("tokens");
  const std::string kind = tokens == info.metadata.end() ? "char" : tokens->second;
  if (kind != "char" && kind != "word") fail("metadata tokens is '" + kind + "', not char or word");
  // Version 1 has neither: one layer, RMSprop.
  const std::int64_t L = info.metadata.count("layers") ? meta_count("layers") : 1;
  if (L < 1 || L > max_layers)
    fail("layers " + std::to_string(L) + " outside [1, " + std::to_string(max_layers) + "]");
  optimizer_kind opt_kind = optimizer_kind::rmsprop;
  if (info.metadata.count("optimizer")) {
    const std::string& name = meta_value("optimizer");
    if (name == "adam") {
      opt_kind = optimizer_kind::adam;
    } else if (name != "rmsprop") {
      fail("optimizer '" + name + "' is not rmsprop or adam");
    }
  }
  try {
    const std::u32string symbols = decode_utf8(meta_value("vocabulary"), "vocabulary");
    if (kind == "word") {
      info.vocab = word_vocabulary::from_words(split_on(symbols, U"\n"));
    } else {
      info.vocab =
          char_vocabulary::from_symbols(std::vector<char32_t>(symbols.begin(), symbols.end()));
    }
  } catch (const error& e) {
    fail(std::string("bad vocabulary: ") + e.what());
  }
  if (info.vocab.size() != V) {
    fail("the vocabulary has " + std::to_string(info.vocab.size()) + " symbols but vocab_size is " +
         std::to_string(V));
  }

  // The tensors' bytes must be in the file before a model of this size is allocated: a header
  // that claims a huge model cannot make the loader allocate what the file does not hold.
  const std::int64_t scalars = parameters<S>::count(V, H, L);
  const std::int64_t copies = opt_kind == optimizer_kind::adam ? 3 : 2;
  const auto needed = static_cast<std::uint64_t>(copies * scalars) * sizeof(S);
  if (needed > data_size) {
    fail("vocab_size " + std::to_string(V) + ", hidden_size " + std::to_string(H) + " and " +
         std::to_string(L) + " layer(s) need " + std::to_string(needed) +
         " bytes of tensors, the file has " + std::to_string(data_size));
  }
  model<S> m = model<S>::zeros(V, H, L);
  const std::int64_t steps = meta_count("optimizer_steps");
  info.steps = steps;
  // Without *opt, the optimizer's tensors are checked against the file but not kept: their
  // names and shapes come from a one-scalar-per-tensor stand-in of the same layout.
  auto tensors = m.params.tensors();
  const std::size_t parameter_tensors = tensors.size();
  if (opt) {
    *opt = optimizer_state<S>(opt_kind, V, H, L);
    opt->steps = steps;
    for (auto v : opt->tensors()) tensors.push_back(v);
  } else {
    const std::vector<std::string> prefixes =
        opt_kind == optimizer_kind::adam ? std::vector<std::string>{"adam.m.", "adam.v."}
                                         : std::vector<std::string>{"rmsprop."};
    for (const std::string& prefix : prefixes) {
      for (std::size_t k = 0; k < parameter_tensors; ++k) {
        const auto t = tensors[k];  // a copy: push_back may move the vector
        tensors.push_back({prefix + t.name, nullptr, t.rows, t.cols});
      }
    }
  }
  // Training-state tensors: 2-d, sized by their header entry (checked against the file below);
  // together no larger than the data section, so that many of them cannot allocate more than the
  // file holds.
  std::vector<matrix<S>> state_values;
  std::vector<std::string> state_names;
  std::uint64_t state_scalars = 0;
  for (const auto& [name, entry] : file.tensors) {
    if (name.compare(0, 6, "state.") != 0) continue;
    if (entry.shape.size() != 2) fail("state tensor '" + name + "' has no 2-d shape");
    const std::int64_t rows = entry.shape[0], cols = entry.shape[1];
    // Its scalars against those the data section has left, without forming rows * cols (two
    // counts of up to 18 digits overflow 64 bits).
    const std::uint64_t room = data_size / sizeof(S) - state_scalars;
    if (rows < 1 || cols < 1 || static_cast<std::uint64_t>(rows) > room ||
        static_cast<std::uint64_t>(cols) > room / static_cast<std::uint64_t>(rows))
      fail("state tensor '" + name + "' is larger than the file");
    state_scalars += static_cast<std::uint64_t>(rows) * static_cast<std::uint64_t>(cols);
    state_values.emplace_back(rows, cols);
    state_names.push_back(name);
  }
  for (std::size_t k = 0; k < state_values.size(); ++k) {
    tensors.push_back({state_names[k], state_values[k].data(), state_values[k].rows(),
                       state_values[k].cols()});
  }
  std::unordered_map<std::string, bool> expected;
  for (const auto& t : tensors) expected.emplace(t.name, true);
  for (const auto& t : file.tensors) {
    if (!expected.count(t.first)) fail("unexpected tensor '" + t.first + "'");
  }
  if (file.tensors.size() != tensors.size())
    fail("expected " + std::to_string(tensors.size()) + " tensors, found " +
         std::to_string(file.tensors.size()));
  // Each tensor as this model needs it: its dtype, shape and byte count.
  for (const auto& t : tensors) {
    const safetensors_entry* entry = file.find(t.name);
    if (!entry) fail("missing tensor '" + t.name + "'");
    const std::string where = "tensor '" + t.name + "'";
    if (entry->dtype != checkpoint_detail::dtype_name<S>()) {
      fail(where + " has dtype " + entry->dtype + ", expected " +
           checkpoint_detail::dtype_name<S>());
    }
    const std::vector<std::int64_t> expected_dims = checkpoint_detail::shape_of(t);
    if (entry->shape != expected_dims) {
      auto text = [](const std::vector<std::int64_t>& v) {
        std::string s = "[";
        for (std::size_t k = 0; k < v.size(); ++k) s += (k ? ", " : "") + std::to_string(v[k]);
        return s + "]";
      };
      fail(where + " has shape " + text(entry->shape) + ", expected " + text(expected_dims) +
           " for vocabulary " + std::to_string(V) + " and hidden size " + std::to_string(H));
    }
    const std::uint64_t expected_bytes = static_cast<std::uint64_t>(t.rows * t.cols) * sizeof(S);
    if (entry->end < entry->begin || entry->end - entry->begin != expected_bytes) {
      fail(where + " spans " + std::to_string(entry->begin) + ".." + std::to_string(entry->end) +
           ", expected " + std::to_string(expected_bytes) + " bytes");
    }
  }
  check_safetensors_ranges(file, fail);
  for (auto& t : tensors) {
    if (!t.data) continue;  // an optimizer tensor when loading for inference
    const safetensors_entry& entry = *file.find(t.name);
    matrix<S> row_major_as_cols(t.cols, t.rows);
    std::memcpy(row_major_as_cols.data(), file.data + entry.begin,
                static_cast<std::size_t>(entry.end - entry.begin));
    Eigen::Map<matrix<S>>(t.data, t.rows, t.cols) = row_major_as_cols.transpose();
    if (!Eigen::Map<matrix<S>>(t.data, t.rows, t.cols).allFinite())
      fail("tensor '" + t.name + "' holds NaN or infinite values");
  }
  info.state_tensors.clear();
  for (std::size_t k = 0; k < state_values.size(); ++k) {
    info.state_tensors[state_names[k]] = state_values[k].template cast<double>();
  }
  return m;
}

inline std::string checkpoint_file_bytes(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw error("cannot open checkpoint '" + path + "': " + std::strerror(errno) +
                ": check the path");
  }
  if (S_ISDIR(st.st_mode)) throw error("checkpoint '" + path + "' is a directory, not a file");
  return read_file_bytes(path);
}

}  // namespace checkpoint_detail

// Parses checkpoint bytes into a model (its parameters only) and its info; `source` names it in
// messages.  The optimizer's tensors are checked but not read: for inference.
template <class S>
model<S> parse_checkpoint(const std::string& bytes, checkpoint_info& info,
                          const std::string& source) {
  return checkpoint_detail::parse<S>(bytes, info, source, nullptr);
}
// The same, and the optimizer's state (buffers, kind, step count) into `opt`: for resuming.
template <class S>
model<S> parse_checkpoint(const std::string& bytes, checkpoint_info& info,
                          const std::string& source, optimizer_state<S>& opt) {
  return checkpoint_detail::parse<S>(bytes, info, source, &opt);
}

// Loads the model of a checkpoint written by save_checkpoint, for inference: parameters only.
//   checkpoint_info info;  model<float> m = load_checkpoint<float>("model.safetensors", info);
template <class S>
model<S> load_checkpoint(const std::string& path, checkpoint_info& info) {
  return parse_checkpoint<S>(checkpoint_detail::checkpoint_file_bytes(path), info, path);
}
// The same with the optimizer's state, to continue training.
//   optimizer_state<float> opt;  auto m = load_checkpoint<float>(path, info, opt);
template <class S>
model<S> load_checkpoint(const std::string& path, checkpoint_info& info,
                         optimizer_state<S>& opt) {
  return parse_checkpoint<S>(checkpoint_detail::checkpoint_file_bytes(path), info, path, opt);
}

}  // namespace charlstm
