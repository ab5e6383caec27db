// Fine-tuning: the vocabulary grown by a new text's symbols, the model grown with it (old weights
// byte-identical, new ones a fresh model's), what stays exactly the same in its predictions, and
// `train --init-from` through the real binary.
#include <catch2/catch.hpp>
#include <charlstm/charlstm.hpp>
#include <charlstm/run/metrics_format.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support/run.hpp"

using isize = charlstm::index;  // a bare `index` would clash with POSIX index()
using charlstm::token_id;
using test_support::quote;
using test_support::run_cli;
using test_support::temp_dir;

namespace {

// Every parameter of `m` replaced by a draw in [-2, 2): weights no initialiser would give, so a
// copied weight cannot be mistaken for a freshly drawn one.
template <class S>
void scramble(charlstm::model<S>& m, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  for (S& v : m.params.data) v = static_cast<S>(4 * charlstm::uniform01(engine) - 2);
}

template <class Matrix>
bool same_bytes(const Matrix& a, const Matrix& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(*a.data()) * static_cast<std::size_t>(a.size())) ==
             0;
}

}  // namespace

TEST_CASE("A grown model keeps every old weight byte for byte and draws new ones as a fresh one",
          "[fine_tune]") {
  const charlstm::token_vocabulary base_vocab = charlstm::char_vocabulary(U"bdfhj");
  charlstm::model<double> base(5, 4, 11, 2);
  scramble(base, 99);
  // 'a' sorts before every old character, so each old id moves up by one; 'z' comes last.
  const charlstm::token_vocabulary grown_vocab =
      charlstm::grown_vocabulary(base_vocab, U"jazz bad", 1000);
  REQUIRE(grown_vocab.as_chars().symbols ==
          std::vector<char32_t>{U' ', U'a', U'b', U'd', U'f', U'h', U'j', U'z'});
  const charlstm::model<double> grown = charlstm::grow_vocabulary(base, base_vocab, grown_vocab, 3);
  const charlstm::model<double> fresh(8, 4, 3, 2);  // what every new weight must equal
  REQUIRE(grown.vocab_size() == 8);
  REQUIRE(grown.hidden_size() == 4);
  REQUIRE(grown.layers() == 2);
  const auto& g = grown.params;
  const auto& b = base.params;
  // The recurrent kernels and biases, and the upper layer whole.
  CHECK(same_bytes(g.lstm.w_h, b.lstm.w_h));
  CHECK(same_bytes(g.lstm.b, b.lstm.b));
  CHECK(same_bytes(g.lstm_layers[1].w_x, b.lstm_layers[1].w_x));
  CHECK(same_bytes(g.lstm_layers[1].w_h, b.lstm_layers[1].w_h));
  CHECK(same_bytes(g.lstm_layers[1].b, b.lstm_layers[1].b));
  // Each old character's input column and output row, at its new id.
  for (isize old_id = 0; old_id < 5; ++old_id) {
    const isize new_id = old_id + 2;  // after ' ' and 'a'
    const Eigen::VectorXd col = g.lstm.w_x.col(new_id), old_col = b.lstm.w_x.col(old_id);
    const Eigen::RowVectorXd row = g.dense.w.row(new_id), old_row = b.dense.w.row(old_id);
    CHECK(same_bytes(col, old_col));
    CHECK(same_bytes(row, old_row));
    CHECK(std::memcmp(&g.dense.b(new_id), &b.dense.b(old_id), sizeof(double)) == 0);
  }
  // The new ones (' ' at 0, 'a' at 1, 'z' at 7): the fresh model's, non-zero, within Glorot's
  // limits for the grown shapes, and a zero output bias as Keras's Dense.
  const double input_limit = std::sqrt(6.0 / (8 + 4 * 4)), output_limit = std::sqrt(6.0 / (4 + 8));
  for (const isize id : {0, 1, 7}) {
    CHECK((g.lstm.w_x.col(id) == fresh.params.lstm.w_x.col(id)));
    CHECK((g.dense.w.row(id) == fresh.params.dense.w.row(id)));
    CHECK(g.dense.b(id) == 0.0);
    for (isize r = 0; r < g.lstm.w_x.rows(); ++r) {
      CHECK(g.lstm.w_x(r, id) != 0.0);
      CHECK(std::abs(g.lstm.w_x(r, id)) <= input_limit);
    }
    for (isize k = 0; k < g.dense.w.cols(); ++k) {
      CHECK(g.dense.w(id, k) != 0.0);
      CHECK(std::abs(g.dense.w(id, k)) <= output_limit);
    }
  }
}

TEST_CASE("A grown model reads old text as the old one: the same states and old tokens' logits",
          "[fine_tune]") {
  const charlstm::token_vocabulary base_vocab = charlstm::char_vocabulary(U"bdfhj");
  charlstm::model<double> base(5, 6, 11, 2);
  scramble(base, 7);
  const charlstm::token_vocabulary grown_vocab =
      charlstm::grown_vocabulary(base_vocab, U"a-z", 1000);  // '-' 'a' before, 'z' after
  const charlstm::model<double> grown = charlstm::grow_vocabulary(base, base_vocab, grown_vocab, 5);
  const std::vector<token_id> ids = charlstm::grown_ids(base_vocab, grown_vocab);
  const std::u32string context = U"bdfhjjhfdb";
  charlstm::lstm_state<double> s_base = base.initial_state(), s_grown = grown.initial_state();
  for (char32_t c : context) {
    const token_id old_id = base_vocab.as_chars().id_of(c);
    REQUIRE(grown_vocab.as_chars().id_of(c) == ids[static_cast<std::size_t>(old_id)]);
    base.feed(s_base, old_id);
    grown.feed(s_grown, grown_vocab.as_chars().id_of(c));
    // The same arithmetic on the same weights: every layer's state is bit-identical.
    for (std::size_t l = 0; l < 2; ++l) {
      CHECK((s_grown.h[l] == s_base.h[l]));
      CHECK((s_grown.c[l] == s_base.c[l]));
    }
    // An old token's logit is the same dot product (its row of a larger matrix-vector product,
    // so equal up to the summation's rounding); its probability is the old one scaled by the
    // mass the old tokens keep, so the distribution among old tokens is unchanged.
    const Eigen::VectorXd old_logits = base.logits(s_base), new_logits = grown.logits(s_grown);
    const std::vector<double> p_old = base.probabilities(s_base);
    const std::vector<double> p_new = grown.probabilities(s_grown);
    double kept = 0;
    for (std::size_t k = 0; k < ids.size(); ++k) kept += p_new[static_cast<std::size_t>(ids[k])];
    CHECK(kept < 1.0);
    for (std::size_t k = 0; k < ids.size(); ++k) {
      const auto j = static_cast<std::size_t>(ids[k]);
      CHECK(new_logits(ids[k]) ==
            Approx(old_logits(static_cast<isize>(k))).epsilon(1e-13).margin(1e-14));
      CHECK(p_new[j] / kept == Approx(p_old[k]).epsilon(1e-12));
    }
  }
}

TEST_CASE("A word vocabulary grows by new words, most frequent first, up to the cap",
          "[fine_tune]") {
  const charlstm::token_vocabulary base = charlstm::word_vocabulary(U"a a a b b c", 10);
  const auto words = [](const charlstm::token_vocabulary& v) {
    std::vector<std::string> out;
    for (const std::u32string& w : v.as_words().words) out.push_back(charlstm::encode_utf8(w));
    return out;
  };
  REQUIRE(words(base) == std::vector<std::string>{"<unk>", "a", "b", "c"});
  // d (3), then e and g (2 each: code-point order), f (1); a is old.
  const std::u32string text = U"d d d e e g g a a a a f";
  CHECK(words(charlstm::grown_vocabulary(base, text, 6)) ==
        std::vector<std::string>{"<unk>", "a", "b", "c", "d", "e"});
  CHECK(words(charlstm::grown_vocabulary(base, text, 100)) ==
        std::vector<std::string>{"<unk>", "a", "b", "c", "d", "e", "g", "f"});
  // A cap at or below the old size adds nothing and never cuts.
  CHECK(words(charlstm::grown_vocabulary(base, text, 2)) == words(base));
  // Old words keep their ids: their rows stay in place.
  charlstm::model<float> m(4, 3, 1);
  scramble(m, 5);
  const charlstm::token_vocabulary grown = charlstm::grown_vocabulary(base, text, 6);
  const charlstm::model<float> g = charlstm::grow_vocabulary(m, base, grown, 2);
  for (isize id = 0; id < 4; ++id) {
    CHECK((g.params.lstm.w_x.col(id) == m.params.lstm.w_x.col(id)));
    CHECK((g.params.dense.w.row(id) == m.params.dense.w.row(id)));
  }
}

TEST_CASE("Growing refuses a vocabulary that lacks an old token or does not fit the model",
          "[fine_tune]") {
  const charlstm::token_vocabulary base = charlstm::char_vocabulary(U"abc");
  const charlstm::model<float> m(3, 4, 1);
  CHECK_THROWS_WITH(charlstm::grow_vocabulary(m, base, charlstm::char_vocabulary(U"abd"), 1),
                    Catch::Contains("lacks the old character U+0063"));
  CHECK_THROWS_WITH(charlstm::grow_vocabulary(m, charlstm::char_vocabulary(U"abcd"), base, 1),
                    Catch::Contains("the model has 3 outputs but its vocabulary 4 tokens"));
  CHECK_THROWS_WITH(charlstm::grow_vocabulary(m, base, charlstm::word_vocabulary(U"abc", 10), 1),
                    Catch::Contains("different kinds of tokens"));
}

TEST_CASE("train --init-from starts a new run from a model, its vocabulary grown", "[cli]") {
  temp_dir dir;
  const std::string base_text = test_support::small_corpus(1500);
  const std::string new_text = test_support::small_corpus(1200) + "Zebras & jaguars: 42%!\n";
  test_support::write_text(dir / "base.txt", base_text);
  test_support::write_text(dir / "new.txt", new_text);
  const std::string tiny = " --batch 4 --seq-len 20 --maxlen 20 --sample-length 0 --threads 1";
  const std::string base = quote(dir / "base.safetensors");
  const auto trained = run_cli("train --corpus " + quote(dir / "base.txt") + tiny +
                               " --no-lowercase --hidden 8 --layers 2 --epochs 2 --out " + base);
  INFO(trained.out << trained.err);
  REQUIRE(trained.exit_code == 0);

  // No --hidden, --layers or --no-lowercase: all the base model's.
  const auto tuned =
      run_cli("train --init-from " + base + " --corpus " + quote(dir / "new.txt") + tiny +
              " --max-steps 3 --epochs 1 --log-every 1 --out " + quote(dir / "tuned.safetensors"));
  INFO(tuned.out << tuned.err);
  REQUIRE(tuned.exit_code == 0);
  CHECK_THAT(tuned.out + tuned.err, Catch::Contains("Epoch 1/1"));
  charlstm::checkpoint_info info;
  const charlstm::model<float> m =
      charlstm::load_checkpoint<float>(dir / "tuned.safetensors", info);
  CHECK(m.hidden_size() == 8);
  CHECK(m.layers() == 2);
  const std::vector<char32_t> expected =
      charlstm::char_vocabulary(charlstm::decode_utf8(base_text + new_text)).symbols;
  CHECK(info.vocab.as_chars().symbols == expected);
  CHECK(info.vocab.as_chars().contains(U'&'));
  CHECK(info.vocab.as_chars().contains(U'Z'));  // --no-lowercase, the base model's case
  // A new run: its own counters (3 steps, not the base run's plus 3), from epoch 1 step 0.
  CHECK(info.metadata.at("optimizer_steps") == "3");
  CHECK(info.metadata.at("epoch") == "0");
  CHECK(info.metadata.at("epoch_batch") == "3");
  CHECK(info.metadata.at("init_from") == dir / "base.safetensors");
  CHECK(info.metadata.at("lowercase") == "0");
  // Its own logs: rows from step 1 to 3, none of the base run's 2 epochs.
  const std::vector<charlstm::metrics_row> rows =
      charlstm::read_metrics(dir / "tuned.safetensors.metrics.csv");
  REQUIRE(!rows.empty());
  CHECK(rows.front().step == 1);
  for (const charlstm::metrics_row& row : rows) CHECK(row.step <= 3);

  // Errors: a contradicting architecture, with --resume, onto the base model.
  const auto hidden = run_cli("train --init-from " + base + " --corpus " + quote(dir / "new.txt") +
                              tiny + " --hidden 16 --out " + quote(dir / "h.safetensors"));
  CHECK(hidden.exit_code == 1);
  CHECK_THAT(hidden.err, Catch::Contains("--hidden 16 differs from 8, the --init-from model's"));
  const auto tokens = run_cli("train --init-from " + base + " --corpus " + quote(dir / "new.txt") +
                              tiny + " --tokens word --out " + quote(dir / "w.safetensors"));
  CHECK(tokens.exit_code == 1);
  CHECK_THAT(tokens.err, Catch::Contains("--tokens word differs from char"));
  const auto both = run_cli("train --init-from " + base + " --resume " + base + " --corpus " +
                            quote(dir / "new.txt") + tiny);
  CHECK(both.exit_code == 2);
  CHECK_THAT(both.err, Catch::Contains("--init-from") && Catch::Contains("--resume"));
  const auto onto = run_cli("train --init-from " + base + " --corpus " + quote(dir / "new.txt") +
                            tiny + " --force --out " + base);
  CHECK(onto.exit_code == 1);
  CHECK_THAT(onto.err, Catch::Contains("is the input '" + dir / "base.safetensors" + "'"));
}
