// charlstm/safetensors.hpp: the safetensors container, the layout checkpoints are stored in, so
// that other tools can read the weights:
//   8 bytes   little-endian uint64 N, the header's length
//   N bytes   JSON: {"__metadata__": {string: string}, "<tensor>": {"dtype": "F32",
//             "shape": [rows, cols], "data_offsets": [begin, end]}, ...}, space-padded to 8
//   the rest  the tensors' bytes, little-endian, row-major (C order), offsets relative to here
// The container only: which tensors a file must hold, and their dtypes and shapes, are the
// checkpoint's business (checkpoint.hpp).  Reading checks the whole header before a byte of
// tensor data is touched, in time linear in the header (plus a sort of the tensors' ranges).
//   const safetensors_contents file = read_safetensors(bytes, fail);
//   ...the reader's own checks of names, dtypes and shapes...
//   check_safetensors_ranges(file, fail);
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "error.hpp"
#include "json.hpp"

namespace charlstm {

// Writes a container: metadata, then tensors in the order added.
//   safetensors_writer out({{"format", "charlstm"}});
//   out.add("w", "F32", {rows, cols}, row_major_bytes, rows * cols * 4);
//   std::string file = out.bytes();
class safetensors_writer {
 public:
  explicit safetensors_writer(const std::map<std::string, std::string>& metadata) {
    header_ = "{\"__metadata__\":{";
    bool first = true;
    for (const auto& kv : metadata) {
      header_ += (first ? "" : ",") + json_quote(kv.first) + ":" + json_quote(kv.second);
      first = false;
    }
    header_ += "}";
  }

  // `bytes`: `size` bytes of the tensor, row-major, little-endian.
  void add(const std::string& name, const char* dtype, const std::vector<std::int64_t>& shape,
           const void* bytes, std::size_t size) {
    const std::size_t begin = data_.size();
    data_.append(static_cast<const char*>(bytes), size);
    std::string dims;
    for (std::int64_t d : shape) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    header_ += "," + json_quote(name) + ":{\"dtype\":\"" + dtype + "\",\"shape\":[" + dims +
               "],\"data_offsets\":[" + std::to_string(begin) + "," + std::to_string(data_.size()) +
               "]}";
  }

  // The whole file.
  std::string bytes() const {
    std::string header = header_ + "}";
    while (header.size() % 8 != 0) header += ' ';
    std::string out(8, '\0');
    const std::uint64_t n = header.size();
    for (int k = 0; k < 8; ++k)
      out[static_cast<std::size_t>(k)] = static_cast<char>((n >> (8 * k)) & 0xFF);
    return out + header + data_;
  }

 private:
  std::string header_, data_;
};

// One tensor's header entry: its bytes are data + begin .. data + end of the contents.
struct safetensors_entry {
  std::string dtype;
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0, end = 0;
};

// A container's header, read and checked, over the bytes it was read from (which must outlive
// it).
struct safetensors_contents {
  std::map<std::string, std::string> metadata;
  std::vector<std::pair<std::string, safetensors_entry>> tensors;  // in the header's order
  std::unordered_map<std::string, std::size_t> by_name;            // index into tensors
  const char* data = nullptr;                                      // the data section
  std::size_t data_size = 0;

  const safetensors_entry* find(const std::string& name) const {
    const auto it = by_name.find(name);
    return it == by_name.end() ? nullptr : &tensors[it->second].second;
  }
};

// Reads a container's header: the metadata (strings), and every tensor's dtype, shape and byte
// range (check_safetensors_ranges below checks the ranges).  `fail(why)` is called on the first
// fault and must throw.
template <class Fail>
safetensors_contents read_safetensors(const std::string& bytes, Fail&& fail) {
  if (bytes.size() < 8)
    fail("the file has " + std::to_string(bytes.size()) +
         " bytes, fewer than the 8-byte header length");
  std::uint64_t n = 0;
  for (int k = 7; k >= 0; --k)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<std::size_t>(k)]);
  if (n > bytes.size() - 8) {
    fail("the header claims " + std::to_string(n) + " bytes but only " +
         std::to_string(bytes.size() - 8) + " follow (truncated file?)");
  }
  json_value header;
  try {
    header = parse_json(bytes.data() + 8, static_cast<std::size_t>(n), "the header");
  } catch (const error& e) {
    fail(e.what());
  }
  if (header.type != json_value::kind::object) fail("the header is not a JSON object");
  safetensors_contents out;
  out.data = bytes.data() + 8 + static_cast<std::size_t>(n);
  out.data_size = bytes.size() - 8 - static_cast<std::size_t>(n);

  const json_value* meta = header.find("__metadata__");
  if (!meta || meta->type != json_value::kind::object) fail("no __metadata__ object");
  for (const auto& kv : meta->members) {
    if (kv.second.type != json_value::kind::string)
      fail("metadata '" + kv.first + "' is not a string");
    out.metadata[kv.first] = kv.second.text;
  }
  // Counts in the header: a fault names where it is.
  const auto count = [&](const json_value& v, const std::string& what) -> std::int64_t {
    try {
      return v.as_count(what);
    } catch (const error& e) {
      fail(e.what());
    }
    return 0;
  };
  out.tensors.reserve(header.members.size());
  for (const auto& member : header.members) {
    if (member.first == "__metadata__") continue;
    const std::string where = "tensor '" + member.first + "'";
    const json_value& entry = member.second;
    if (entry.type != json_value::kind::object) fail(where + " is not a JSON object");
    const json_value* dtype = entry.find("dtype");
    const json_value* shape = entry.find("shape");
    const json_value* offsets = entry.find("data_offsets");
    if (!dtype || dtype->type != json_value::kind::string) fail(where + " has no dtype");
    if (!shape || shape->type != json_value::kind::array) fail(where + " has no shape");
    if (!offsets || offsets->type != json_value::kind::array || offsets->items.size() != 2)
      fail(where + " has no [begin, end] data_offsets");
    safetensors_entry e;
    e.dtype = dtype->text;
    for (const auto& d : shape->items) e.shape.push_back(count(d, where + " shape"));
    e.begin = static_cast<std::uint64_t>(count(offsets->items[0], where + " offset"));
    e.end = static_cast<std::uint64_t>(count(offsets->items[1], where + " offset"));
    out.tensors.emplace_back(member.first, std::move(e));
  }
  for (std::size_t k = 0; k < out.tensors.size(); ++k) out.by_name.emplace(out.tensors[k].first, k);
  if (out.by_name.size() != out.tensors.size()) fail("a tensor is named twice");
  return out;
}

// Checks that every tensor's bytes lie within the data section and that no two tensors share a
// byte.  Apart from read_safetensors so that a reader can first say what its own checks find
// (a file too short for the model its header describes says more than a range past the end).
template <class Fail>
void check_safetensors_ranges(const safetensors_contents& contents, Fail&& fail) {
  std::vector<const std::pair<std::string, safetensors_entry>*> ranges;
  for (const auto& t : contents.tensors) {
    const std::string where = "tensor '" + t.first + "'";
    if (t.second.end < t.second.begin) {
      fail(where + " spans " + std::to_string(t.second.begin) + ".." +
           std::to_string(t.second.end) + ", which ends before it begins");
    }
    if (t.second.end > contents.data_size) {
      fail(where + " ends at byte " + std::to_string(t.second.end) + " of a " +
           std::to_string(contents.data_size) + "-byte data section (truncated file?)");
    }
    if (t.second.end > t.second.begin) ranges.push_back(&t);
  }
  // Sorted by start, each ends before the next begins.
  std::sort(ranges.begin(), ranges.end(),
            [](const auto* a, const auto* b) { return a->second.begin < b->second.begin; });
  for (std::size_t k = 1; k < ranges.size(); ++k) {
    if (ranges[k]->second.begin < ranges[k - 1]->second.end)
      fail("tensor '" + ranges[k]->first + "' overlaps another tensor");
  }
}

}  // namespace charlstm
