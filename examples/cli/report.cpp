// `charlstm report`: the HTML page of a training run from its metrics, samples and checkpoint.
#include <cstdio>
#include <cstdlib>
#include <map>

#include "cli.hpp"

namespace cli {

int report(const std::string& model_path, std::string out) {
  charlstm::checkpoint_info info;
  const charlstm::model<float> model = charlstm::load_checkpoint<float>(model_path, info);
  const std::string csv = charlstm::metrics_path(model_path);
  require(file_exists(csv), "no metrics beside " + model_path + ": " + csv +
                                " is missing (it is written by `charlstm train` since 0.1; " +
                                "train or resume the model to record them)");
  charlstm::report_input in;
  in.rows = charlstm::read_metrics(csv);
  const std::string samples = charlstm::samples_path(model_path);
  if (file_exists(samples)) {
    in.samples = charlstm::parse_samples(charlstm::read_file_bytes(samples), samples);
  }
  const auto slash = model_path.find_last_of('/');
  in.title = slash == std::string::npos ? model_path : model_path.substr(slash + 1);
  const auto corpus = info.metadata.find("corpus");
  in.subtitle = "charlstm training report";
  if (corpus != info.metadata.end()) in.subtitle += " · corpus " + corpus->second;
  in.subtitle += " · " + std::to_string(model.steps) + " steps · " +
                 std::to_string(info.vocab.size()) + " symbols";
  // The run's settings as the checkpoint stores them, the usual ones first; numbers stored
  // with 17 digits are shown with 6; the resume state is left out.
  const auto shown = [](const std::string& v) {
    char* end = nullptr;
    const double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || v.find('.') == std::string::npos) return v;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return std::string(buf);
  };
  std::map<std::string, std::string> rest = info.metadata;
  in.hyperparameters.emplace_back("parameters", std::to_string(model.params.size()));
  for (const char* key :
       {"corpus", "mode", "layers", "hidden_size", "vocab_size", "optimizer", "seq_len", "maxlen",
        "step", "batch", "lr", "lr_decay", "dropout", "clip_norm", "val_fraction", "lowercase",
        "seed", "epoch", "optimizer_steps"}) {
    const auto it = rest.find(key);
    if (it == rest.end()) continue;
    in.hyperparameters.emplace_back(key, shown(it->second));
    rest.erase(it);
  }
  for (const char* key :
       {"rng", "epoch_batch", "epoch_loss", "sample_window", "format", "format_version"})
    rest.erase(key);
  for (const auto& kv : rest) in.hyperparameters.emplace_back(kv.first, shown(kv.second));
  if (out.empty()) out = charlstm::report_path(model_path);
  charlstm::write_file_atomically(out, charlstm::render_report(in));
  std::printf("wrote %s (%zu metric rows, %zu samples)\n", out.c_str(), in.rows.size(),
              in.samples.size());
  return 0;
}

}  // namespace cli
