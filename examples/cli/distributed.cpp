// What the tool does the same with or without MPI (see distributed.hpp).
#include <cstdlib>

#include "distributed.hpp"

namespace cli {

std::string mpi_launch_variable() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::string(name) + "=" + value;
  }
  return "";
}

int launch_rank() {
  for (const char* name : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}) {
    if (const char* value = std::getenv(name)) return std::atoi(value);
  }
  return 0;
}

std::string read_on_lead(charlstm::process_group<float>* group,
                         const std::function<std::string()>& read) {
  if (!group) return read();
  std::string bytes;
  if (group->lead()) bytes = read();
  group->broadcast(bytes);
  return bytes;
}

}  // namespace cli
