// charlstm/optimizer.hpp: what a run's update rule keeps besides the model's parameters: which
// rule (RMSprop or Adam), its hyperparameters, its per-parameter buffers and the number of
// updates done.  The model is its parameters only (parameters.hpp); a run owns one optimizer_state
// beside it, a checkpoint stores both (checkpoint.hpp), and loading for inference never
// allocates this.  Not the update formulas themselves (rmsprop.hpp, adam.hpp).
//
// Buffers: RMSprop keeps one scalar per parameter (the running mean of squared gradients),
// Adam two (first and second moments), each a `parameters<S>` of the model's layout, so that an
// update, a finiteness check and a checkpoint are one loop over a flat buffer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "adam.hpp"
#include "parameters.hpp"
#include "rmsprop.hpp"

namespace charlstm {

// Which update rule a run trains with.
enum class optimizer_kind { rmsprop, adam };

inline const char* optimizer_name(optimizer_kind k) {
  return k == optimizer_kind::adam ? "adam" : "rmsprop";
}

// "rmsprop" or "adam" as a kind; anything else throws naming `where`.
inline optimizer_kind optimizer_from_name(const std::string& name, const std::string& where) {
  if (name == "adam") return optimizer_kind::adam;
  require(name == "rmsprop", where + " must be rmsprop or adam, got '" + name + "'");
  return optimizer_kind::rmsprop;
}

// The optimizer of one run over a model of V symbols, H hidden units and L layers.
//   optimizer_state<float> opt(optimizer_kind::rmsprop, m.params);   // zero buffers, lr 0.01
//   opt.update(m.params, grads, 0, m.params.size());  ++opt.steps;
// Pitfall: Adam's bias correction counts `steps`; a resumed run must restore it with the buffers.
template <class S>
struct optimizer_state {
  optimizer_kind kind = optimizer_kind::rmsprop;
  rmsprop rmsprop_rule;              // used when kind is rmsprop
  adam adam_rule;                    // used when kind is adam
  std::vector<parameters<S>> moments;  // RMSprop: {acc}; Adam: {m, v}; zeros before step 1
  std::int64_t steps = 0;            // updates done

  // No buffers yet: to be assigned, or filled by load_checkpoint.
  optimizer_state() = default;
  // Zero state for a model shaped like `like`, the rule's default learning rate.
  optimizer_state(optimizer_kind k, const parameters<S>& like)
      : optimizer_state(k, like.vocab_size, like.hidden_size, like.layers) {}
  optimizer_state(optimizer_kind k, index V, index H, index L) : kind(k) {
    for (int n = 0; n < (k == optimizer_kind::adam ? 2 : 1); ++n) moments.emplace_back(V, H, L);
  }

  // The active rule's learning rate.
  double learning_rate() const {
    return kind == optimizer_kind::adam ? adam_rule.lr : rmsprop_rule.lr;
  }
  void set_learning_rate(double lr) {
    (kind == optimizer_kind::adam ? adam_rule.lr : rmsprop_rule.lr) = lr;
  }

  // The update of scalars [begin, end) of `params` from `grads`, as update number steps + 1
  // (the caller counts steps: trainer.hpp updates chunks of the buffer on several threads).
  void update(parameters<S>& params, const parameters<S>& grads, index begin, index end) {
    if (kind == optimizer_kind::adam) {
      adam_rule.step(params.data.data() + begin, grads.data.data() + begin,
                     moments[0].data.data() + begin, moments[1].data.data() + begin, end - begin,
                     steps + 1);
    } else {
      rmsprop_rule.step(params.data.data() + begin, grads.data.data() + begin,
                        moments[0].data.data() + begin, end - begin);
    }
  }
  // One whole update, counted.
  void step(parameters<S>& params, const parameters<S>& grads) {
    update(params, grads, 0, params.size());
    ++steps;
  }

  // False if any buffer holds NaN or infinity (a diverged run).
  bool all_finite() const {
    for (const parameters<S>& p : moments) {
      if (!p.all_finite()) return false;
    }
    return true;
  }
  // How messages name the buffers: "RMSprop's state" or "Adam's state".
  const char* state_name() const {
    return kind == optimizer_kind::adam ? "Adam's state" : "RMSprop's state";
  }

  // The buffers by checkpoint name: "rmsprop." + tensor, or "adam.m." and "adam.v." + tensor.
  std::vector<typename parameters<S>::tensor_view> tensors() {
    std::vector<typename parameters<S>::tensor_view> out;
    const std::vector<std::string> prefixes =
        kind == optimizer_kind::adam ? std::vector<std::string>{"adam.m.", "adam.v."}
                                     : std::vector<std::string>{"rmsprop."};
    for (std::size_t n = 0; n < moments.size(); ++n) {
      for (auto v : moments[n].tensors()) out.push_back({prefixes[n] + v.name, v.data, v.rows, v.cols});
    }
    return out;
  }
};

}  // namespace charlstm
