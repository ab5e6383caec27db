// charlstm/fine_tune.hpp: starting a model from another's weights on a new text, whose symbols
// the old vocabulary may lack: the vocabulary grown by the new text's symbols, and the model
// grown with it, every old weight kept and every new one drawn as a fresh model's.
// Not the run (engine.hpp: a fine-tuning run is a fresh run from these weights) nor reading the
// checkpoint (checkpoint.hpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include "error.hpp"
#include "model.hpp"
#include "vocabulary.hpp"

namespace charlstm {

// `base` grown by the tokens of `text` it lacks.
//  - characters: the sorted union of base's code points and text's (char_vocabulary's order),
//    so an old character's id moves when a smaller new one comes before it;
//  - words: base's words keep their ids, and text's words that base lacks follow, most frequent
//    in text first (ties in code-point order, as word_vocabulary ranks them), while the
//    vocabulary has fewer than max_vocab words.  base is never cut: with max_vocab at or below
//    its size, no word is added and text's new words read as <unk>.
//   token_vocabulary v = grown_vocabulary(info.vocab, lowercase(text), 10000);
inline token_vocabulary grown_vocabulary(const token_vocabulary& base, const std::u32string& text,
                                         index max_vocab) {
  if (base.kind() == token_kind::character) {
    const std::vector<char32_t>& old_symbols = base.as_chars().symbols;
    const std::vector<char32_t> new_symbols = char_vocabulary(text).symbols;
    std::vector<char32_t> all;
    std::set_union(old_symbols.begin(), old_symbols.end(), new_symbols.begin(), new_symbols.end(),
                   std::back_inserter(all));
    return char_vocabulary::from_symbols(std::move(all));
  }
  const word_vocabulary& old_words = base.as_words();
  std::vector<std::u32string> words = old_words.words;
  // Ranked enough of text's words to fill the cap even if all of base's are among them.
  const word_vocabulary ranked(text, std::min<index>(max_vocab + old_words.size(), max_vocab_size));
  for (std::size_t k = 1; k < ranked.words.size(); ++k) {
    if (static_cast<index>(words.size()) >= max_vocab) break;
    if (!old_words.contains(ranked.words[k])) words.push_back(ranked.words[k]);
  }
  return word_vocabulary::from_words(std::move(words));
}

// The id in `grown` of each id of `base` (grown must hold every token of base, of the same kind).
inline std::vector<token_id> grown_ids(const token_vocabulary& base,
                                       const token_vocabulary& grown) {
  require(base.kind() == grown.kind(),
          "grow_vocabulary: the vocabularies hold different kinds of tokens (characters and "
          "words)");
  std::vector<token_id> ids(static_cast<std::size_t>(base.size()));
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto id = static_cast<token_id>(k);
    if (base.kind() == token_kind::character) {
      const char32_t c = base.as_chars().symbol(id);
      require(
          grown.as_chars().contains(c),
          "grow_vocabulary: the new vocabulary lacks the old character " + describe_code_point(c));
      ids[k] = grown.as_chars().id_of(c);
    } else {
      const std::u32string& w = base.as_words().word(id);
      require(grown.as_words().contains(w),
              "grow_vocabulary: the new vocabulary lacks the old word '" + encode_utf8(w) + "'");
      ids[k] = grown.as_words().id_of(w);
    }
  }
  return ids;
}

// `base`, a model over `base_vocab`, grown to `grown_vocab` (grown_vocabulary's): the model
// model<S>(grown_vocab.size(), H, seed, L) would be, with every weight of base copied in: the
// recurrent kernels and biases of every layer and the upper layers whole, and for each old token
// its input-kernel column (layer 0's w_x) and its output row (dense w and b), at its new id.
// What stays of the fresh model are the new tokens' columns and rows: Glorot-uniform as a fresh
// model's of the grown size, output bias 0.  So the hidden states of a text of old tokens are
// base's, and the logits of old tokens too; only the softmax shares its mass with the new ones.
//   model<float> m = grow_vocabulary(base, info.vocab, grown_vocabulary(info.vocab, text, cap), 1);
template <class S>
model<S> grow_vocabulary(const model<S>& base, const token_vocabulary& base_vocab,
                         const token_vocabulary& grown_vocab, std::uint64_t seed) {
  require(base.vocab_size() == base_vocab.size(),
          "grow_vocabulary: the model has " + std::to_string(base.vocab_size()) +
              " outputs but its vocabulary " + std::to_string(base_vocab.size()) + " tokens");
  const std::vector<token_id> ids = grown_ids(base_vocab, grown_vocab);
  model<S> grown(grown_vocab.size(), base.hidden_size(), seed, base.layers());
  const parameters<S>& from = base.params;
  parameters<S>& to = grown.params;
  for (std::size_t l = 0; l < from.lstm_layers.size(); ++l) {
    if (l > 0) to.lstm_layers[l].w_x = from.lstm_layers[l].w_x;
    to.lstm_layers[l].w_h = from.lstm_layers[l].w_h;
    to.lstm_layers[l].b = from.lstm_layers[l].b;
  }
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const auto old_id = static_cast<index>(k), new_id = static_cast<index>(ids[k]);
    to.lstm.w_x.col(new_id) = from.lstm.w_x.col(old_id);
    to.dense.w.row(new_id) = from.dense.w.row(old_id);
    to.dense.b(new_id) = from.dense.b(old_id);
  }
  return grown;
}

}  // namespace charlstm
