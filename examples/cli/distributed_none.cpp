// The tool without MPI (see distributed.hpp): alone, always.
#include "distributed.hpp"

namespace cli {

bool built_with_mpi() { return false; }

job_scope::job_scope(bool) {}
job_scope::~job_scope() = default;
void job_scope::abort(int) {}

void add_distributed_flags(CLI::App&, distributed_options&) {}

std::unique_ptr<charlstm::process_group<float>> join_process_group(const distributed_options&) {
  return nullptr;
}

}  // namespace cli
