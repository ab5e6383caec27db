// Memory, checked up front: every allocation sized by input (corpus bytes, hidden size, batch,
// samples) is compared with the machine's memory before it is made, with a message naming the
// flag to lower; and an out-of-memory that still happens is reported as what the tool was doing.
#pragma once

#include <charlstm/training.hpp>
#include <cstdint>
#include <string>
#include <utility>

namespace cli {

// The machine's physical memory in bytes: the limit the up-front checks compare against.
std::uint64_t physical_memory();

// Throws unless `bytes` fit in physical_memory(): "<what> needs about N GB, more than this
// machine's M GB: <advice>".
//   require_memory(9.0 * corpus_bytes, "reading corpus 'big.txt'", "train on a part of it");
void require_memory(double bytes, const std::string& what, const std::string& advice);

// Bytes that training takes, about: the parameters, their gradients (one set per thread) and the
// optimizer's state, plus each thread's BPTT cache and logits for its share of `batch` streams or
// windows of `steps` tokens (lstm.hpp gives the cache's formula).
double training_bytes(double vocab, double hidden, double layers, double batch, double steps,
                      double threads, bool adam);

// Checks training_bytes for a run of `c` on `symbols` symbols, before a byte of it is allocated.
// Returns the sizes (the flags that set them) and the advice, for `activity`.
//   const auto [sizes, lower] = check_training_memory(c, vocab.size());
std::pair<std::string, std::string> check_training_memory(const charlstm::training_config& c,
                                                          charlstm::index symbols);

// While alive, names what the tool is doing and the flag that sizes it; an std::bad_alloc that
// escapes is reported with the innermost one (out_of_memory_message).
//   activity doing("training", "lower --batch, --seq-len or --hidden");
class activity {
 public:
  activity(std::string doing, std::string advice);
  ~activity();
  activity(const activity&) = delete;
  activity& operator=(const activity&) = delete;

 private:
  int unwinding_;
};

// "out of memory while <doing>: <advice>", for the activity that an std::bad_alloc left.
std::string out_of_memory_message();

}  // namespace cli
