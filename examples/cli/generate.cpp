// `charlstm generate`: text from a checkpoint, stateful (one LSTM step per token, several
// samples as one batch) or with the book's window loop; streamed to stdout or written to --out.
#include <cstdio>
#include <map>
#include <memory>
#include <random>

#include "cli.hpp"
#include "inputs.hpp"
#include "memory.hpp"
#include "outputs.hpp"

namespace cli {

namespace {

struct generate_options {
  std::string model, prime, prime_file, temperatures = "1.0", stop, out;
  long length = 400, top_k = 0, num_samples = 1;
  double top_p = 1.0;
  unsigned long long seed = 1;
  bool window = false, drop_unknown = false, greedy = false, force = false;
};

// Tokens one sample may have: a single sample streams and keeps none of them in memory.
constexpr long max_length = charlstm::max_generation_length;
// Samples generated together (one batch): each keeps its text until it ends.
constexpr long max_samples = 4096;
constexpr long max_kept_tokens = 10'000'000;

int generate(const generate_options& o) {
  require(o.length >= 1 && o.length <= max_length,
          "--length must be in [1, " + std::to_string(max_length) + "] (tokens per sample), got " +
              std::to_string(o.length));
  require(o.num_samples >= 1 && o.num_samples <= max_samples,
          "--num-samples must be in [1, " + std::to_string(max_samples) + "], got " +
              std::to_string(o.num_samples));
  const std::vector<double> temperatures =
      o.greedy ? std::vector<double>{0.0} : parse_temperatures(o.temperatures, "--temperature");
  const long samples = static_cast<long>(temperatures.size()) * o.num_samples;
  require(samples <= max_samples,
          "--num-samples " + std::to_string(o.num_samples) + " times " +
              std::to_string(temperatures.size()) + " temperatures is " + std::to_string(samples) +
              " samples, more than " + std::to_string(max_samples) +
              " generated together: lower --num-samples or give fewer temperatures");
  require(samples == 1 || static_cast<double>(samples) * static_cast<double>(o.length) <=
                              static_cast<double>(max_kept_tokens),
          std::to_string(samples) + " samples of --length " + std::to_string(o.length) +
              " are kept in memory until each ends: at most " + std::to_string(max_kept_tokens) +
              " tokens in all; lower --length or --num-samples, or generate one sample at a "
              "time (it streams)");
  // The output is checked before any work, and is never the model or the prime file being read.
  const std::vector<std::string> inputs =
      o.prime_file.empty() ? std::vector<std::string>{o.model}
                           : std::vector<std::string>{o.model, input_paths({o.prime_file})[0]};
  std::unique_ptr<output_file> file;
  if (!o.out.empty()) {
    file = std::make_unique<output_file>(
        check_output(o.out, "--out", output_kind::text, inputs, o.force));
  }
  // The prime file's text as it is (a final newline included), checked as a corpus file is.
  std::string prime_utf8 = o.prime;
  if (!o.prime_file.empty()) {
    const bool standard_input = o.prime_file == charlstm::standard_input_name;
    const std::string name = standard_input ? "standard input" : o.prime_file;
    prime_utf8 = read_input(standard_input ? "/dev/stdin" : o.prime_file, "prime file", 5);
    charlstm::document_text(prime_utf8, "--prime-file " + name);
    require(!prime_utf8.empty(), "--prime-file " + name +
                                     " is empty: give a text to start from, or "
                                     "leave out --prime-file to start from the training text");
  }
  // One stream per (temperature, sample), temperature-major: the batch the model advances.
  std::vector<charlstm::sampling_options> options;
  std::vector<std::string> labels;
  for (double t : temperatures) {
    for (long n = 1; n <= o.num_samples; ++n) {
      options.push_back({t, static_cast<index>(o.top_k), o.top_p});
      charlstm::require_sampling(options.back());
      char shown[32];
      std::snprintf(shown, sizeof shown, "%g", t);  // as train labels its samples
      labels.push_back("------ temperature: " + std::string(shown) +
                       (o.num_samples > 1
                            ? ", sample " + std::to_string(n) + "/" + std::to_string(o.num_samples)
                            : ""));
    }
  }
  charlstm::checkpoint_info info;
  charlstm::model<float> model = load_model(o.model, info);
  activity doing("generating " + std::to_string(samples) + " sample(s)",
                 "lower --num-samples or --length");
  std::vector<charlstm::token_id> prime = charlstm::encode_prime(info, prime_utf8, o.drop_unknown);
  if (o.window) {
    const charlstm::index stored = charlstm::read_inference_settings(info).maxlen;
    require(stored > 0, "checkpoint metadata has no 'maxlen' (not written by `charlstm train`?)");
    const auto maxlen = static_cast<std::size_t>(stored);
    if (prime.size() > maxlen) prime.erase(prime.begin(), prime.end() - static_cast<long>(maxlen));
  }
  const std::string prime_text = charlstm::encode_utf8(charlstm::decode_text(info.vocab, prime));

  // Output: stdout as it is produced, or --out (a temporary file renamed at the end, or a device
  // or FIFO written through).  A failed write stops the command; a closed pipe stops it quietly.
  const auto write = [&](const std::string& text) {
    if (file) {
      file->write(text);
    } else {
      std::fputs(text.c_str(), stdout);
      flush_stdout();
    }
  };
  // One stream streams token by token; several print each sample, labelled, when it ends.
  const std::size_t B = options.size();
  const bool streaming = B == 1;
  std::vector<std::string> texts(B);
  std::vector<bool> printed(B, false);
  const auto finish = [&](std::size_t b) {
    if (printed[b]) return;
    printed[b] = true;
    if (streaming) {
      write("\n");
    } else {
      write(labels[b] + "\n" + prime_text + texts[b] + "\n");
    }
  };
  if (streaming) write(prime_text);
  index produced = 0;
  // Adds sample b's next piece; a sample that ends is printed.
  const auto add = [&](std::size_t b, const std::string& piece, bool last) {
    ++produced;
    if (streaming) {
      write(piece);
    } else {
      texts[b] += piece;
    }
    if (last) finish(b);
  };
  const auto start = clock_type::now();
  if (o.window) {
    // The book's loop re-reads a window per token and does not batch: streams run in turn.
    for (std::size_t b = 0; b < B; ++b) {
      std::mt19937_64 engine = charlstm::sample_engine(o.seed, static_cast<index>(b));
      charlstm::detokenizer pieces(info.vocab);
      for (charlstm::token_id id : prime) pieces.piece(id);
      charlstm::stop_matcher stop{o.stop};
      std::vector<charlstm::token_id> window = prime;
      for (index k = 0; k < o.length; ++k) {
        const auto next = static_cast<charlstm::token_id>(charlstm::sample(
            model.predict(window.data(), static_cast<index>(window.size())), options[b], engine));
        window.erase(window.begin());
        window.push_back(next);
        const std::string piece = charlstm::encode_utf8(pieces.piece(next));
        const bool stopped = stop.add(piece);
        add(b, piece, stopped || k + 1 == o.length);
        if (stopped) break;
      }
    }
  } else {
    // The library's batched engine (as `charlstm serve`): one request per temperature, whose
    // samples draw from streams t*N .. t*N + N-1.
    charlstm::batch_generator<float> batch(model, info.vocab, static_cast<index>(B));
    std::map<std::uint64_t, index> first_stream;
    for (std::size_t t = 0; t < temperatures.size(); ++t) {
      const auto first = static_cast<index>(t) * o.num_samples;
      first_stream[batch.add({prime, o.length, options[static_cast<std::size_t>(first)], o.stop,
                              o.num_samples, o.seed, first})] = first;
    }
    while (batch.streams() > 0) {
      for (const charlstm::generated_piece& p : batch.step()) {
        add(static_cast<std::size_t>(first_stream[p.request] + p.sample), p.text,
            p.end != charlstm::sample_end::none);
      }
    }
  }
  const double elapsed = seconds_since(start);
  if (file) file->commit();
  const char* unit = info.vocab.kind() == charlstm::token_kind::word ? "tokens" : "characters";
  std::fprintf(stderr, "generated %ld %s in %zu sample(s) (%s) in %.3fs: %.0f %s/s\n",
               static_cast<long>(produced), unit, B, o.window ? "window" : "stateful", elapsed,
               static_cast<double>(produced) / std::max(elapsed, 1e-9), unit);
  return 0;
}

}  // namespace

subcommand add_generate(CLI::App& tool) {
  auto options = std::make_shared<generate_options>();
  generate_options& g = *options;
  CLI::App* gen_cmd = tool.add_subcommand("generate", "generate text from a checkpoint");
  gen_cmd->add_option("--model", g.model, "checkpoint")->required();
  CLI::Option* prime_flag = gen_cmd->add_option(
      "--prime", g.prime, "text to start from (default: a window of the training text)");
  gen_cmd
      ->add_option("--prime-file", g.prime_file,
                   "read the text to start from from this file (-: standard input), as it is")
      ->excludes(prime_flag);
  gen_cmd->add_option("--length", g.length, "tokens (characters or words) to generate per sample")
      ->capture_default_str();
  gen_cmd
      ->add_option("--temperature", g.temperatures,
                   "one value or a comma list (one sample each); 0 = the most likely token, "
                   "1 = the model's distribution")
      ->capture_default_str();
  gen_cmd->add_option("--top-k", g.top_k, "sample among the k most likely tokens (0: all)")
      ->capture_default_str();
  gen_cmd
      ->add_option(
          "--top-p", g.top_p,
          "sample among the smallest set of most likely tokens reaching this mass (1: all)")
      ->capture_default_str();
  gen_cmd->add_flag("--greedy", g.greedy, "always the most likely token (temperature 0)");
  gen_cmd->add_option("--stop", g.stop, "end a sample once it has produced this text");
  gen_cmd
      ->add_option("--num-samples", g.num_samples,
                   "samples per temperature, generated together as one batch")
      ->capture_default_str();
  gen_cmd->add_option("--out", g.out, "write the text to this file (atomically) instead of stdout");
  gen_cmd->add_option("--seed", g.seed, "random seed")->capture_default_str();
  gen_cmd->add_flag("--force", g.force, "replace an existing --out that is a checkpoint");
  auto* stateful_flag =
      gen_cmd->add_flag("--stateful", "one LSTM step per token, carrying the state (default)");
  gen_cmd
      ->add_flag("--window", g.window,
                 "the book's loop: re-read the last maxlen tokens for each one")
      ->excludes(stateful_flag);
  gen_cmd->add_flag("--drop-unknown", g.drop_unknown,
                    "drop prime characters outside the vocabulary instead of failing");

  subcommand command;
  command.app = gen_cmd;
  command.run = [options] { return generate(*options); };
  return command;
}

}  // namespace cli
