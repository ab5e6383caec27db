// The tool's outputs, checked before any work and written so that nothing of the user's is lost:
// what a command may write over, the file it streams into, the run's lock, and standard output's
// errors.  Not the library's atomic save (checkpoint.hpp): this decides *whether* and *where* to
// write; see docs/reliability.md, "Outputs".
#pragma once

#include <string>
#include <vector>

namespace cli {

// What a command writes, and so what it may replace when the target exists.
enum class output_kind {
  checkpoint,  // train's --out: a charlstm checkpoint (sniffed from its safetensors header)
  log,         // a run's metrics.csv, samples.jsonl, lock: a regular file
  text,        // generate --out: any regular file but a checkpoint; devices and FIFOs streamed
  html,        // report --out: a page (<!DOCTYPE html); devices and FIFOs streamed
};

// Where an output goes once checked: `path` is the file to replace (a symlink's target, never the
// link), or, when `stream_fd` >= 0 or `stream_path` is set, a device, FIFO or /dev/stdout written
// through in place.
struct output_target {
  std::string path;
  std::string stream_path;  // a device or FIFO opened for writing in place
  int stream_fd = -1;       // /dev/stdout, /dev/fd/N: this descriptor, duplicated
};

// Checks `path`, given as `flag`, as an output of kind `kind` before any work: the name is valid,
// its directory exists and is writable, and the target is absent or of the kind the command
// writes; it is never one of `inputs` (compared by device and inode, following symlinks).  A
// regular file of another kind is replaced only with `force`.  Throws charlstm::error, one line.
//   output_target out = check_output(o.out, "--out", output_kind::text, {o.model}, o.force);
// Pitfall: `suffix_room` is the longest suffix the command appends to the name (logs, temporary
// files), so that a name too long for them is refused now, not after training.
output_target check_output(const std::string& path, const std::string& flag, output_kind kind,
                           const std::vector<std::string>& inputs, bool force,
                           std::size_t suffix_room = 11);

// True if `path` holds a charlstm checkpoint's header (the first bytes only are read).
bool looks_like_checkpoint(const std::string& path);

// A checked output written as it is produced: a temporary file beside the target renamed over it
// by commit() (a reader never sees half a file; without commit() the target is untouched), or the
// device/FIFO/descriptor written through.  A write error throws; a reader that went away (EPIPE)
// throws output_closed.
class output_file {
 public:
  explicit output_file(const output_target& target);
  ~output_file();
  output_file(const output_file&) = delete;
  output_file& operator=(const output_file&) = delete;
  void write(const std::string& bytes);
  void commit();

 private:
  std::string path_, temp_;
  int fd_ = -1;
  bool streamed_ = false;
};

// Thrown when the reader of stdout or of a streamed --out has gone (`| head`): the command stops
// quietly and successfully.
struct output_closed {};

// Flushes stdout after each piece of streamed output; throws output_closed if its reader went
// away, charlstm::error if the write failed (disk full: `> /dev/full`).
void flush_stdout();

// The exit code once a command returned `code`: stdout is flushed, and a failed write makes a
// successful command fail (exit 1, one line on stderr); a closed pipe stays quiet.
int finish_stdout(int code);

// An exclusive lock on a run's files, held while this lives: flock on `lock_path`, created empty
// if absent and never written nor removed (removing it would let two runs lock two inodes).
// Throws, naming the lock, if another process holds it.
class run_lock {
 public:
  run_lock(const std::string& lock_path, const std::string& what);
  ~run_lock();
  run_lock(const run_lock&) = delete;
  run_lock& operator=(const run_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cli
