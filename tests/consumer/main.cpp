// Trains the book's model for a few steps on a tiny text and generates from it, then through
// charlstm::generator from a saved checkpoint, using only the installed headers.
#include <charlstm/charlstm.hpp>
#include <iostream>
#include <random>
#include <string>

int main() {
  const std::u32string text = U"to be or not to be, that is the question. ";
  const charlstm::char_vocabulary vocab(text);
  const std::vector<charlstm::token_id> ids = vocab.encode(text);
  const charlstm::window_set windows = charlstm::make_windows(ids, 10, 1);
  charlstm::model<float> model(vocab.size(), 16, 1);
  charlstm::optimizer_state<float> rmsprop(charlstm::optimizer_kind::rmsprop, model.params);
  std::mt19937_64 engine(1);
  const double first = charlstm::train_epoch(model, rmsprop, windows, 8, engine);
  double last = first;
  for (int epoch = 0; epoch < 20; ++epoch)
    last = charlstm::train_epoch(model, rmsprop, windows, 8, engine);
  const std::u32string out =
      charlstm::generate_stateful(model, vocab, text.substr(0, 10), 20, 0.5, engine);
  std::cout << "loss " << first << " -> " << last << ": " << charlstm::encode_utf8(out) << "\n";

  // The embedding API: a checkpoint in, text out a token at a time.
  const std::string path = "consumer_model.safetensors";
  charlstm::save_checkpoint(path, model, rmsprop, {vocab, {}});
  charlstm::generator::options options;
  options.prime = "to be";
  options.sampling.temperature = 0.5;
  charlstm::generator g(path, options);
  std::string streamed;
  const std::string text_out = g.generate(20, [&](const std::string& s) { streamed += s; });
  std::cout << g.prime() << text_out << "\n";
  return (last < first && out.size() == 20 && streamed == text_out &&
          charlstm::decode_utf8(text_out).size() == 20)
             ? 0
             : 1;
}
