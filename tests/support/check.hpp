// tests/support/check.hpp: the one relative error the tests use, and a reader for the PyTorch
// fixtures that tools/make_fixtures.py writes.
#pragma once

#include <algorithm>
#include <charlstm/tensor.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace test_support {

// max_k |a_k - b_k| / max(max_k |b_k|, floor): the error relative to the reference tensor's scale,
// so that tiny elements neither hide a wrong sign nor blow up the ratio.
struct comparison {
  double error = 0;  // the relative error above
  long worst = -1;   // index of the worst element (storage order)
  double got = 0, expected = 0;
  std::string describe(const std::string& what) const {
    std::ostringstream s;
    s.precision(10);
    s << what << ": relative error " << error << ", worst element " << worst << ": got " << got
      << ", expected " << expected;
    return s.str();
  }
};

template <class A, class B>
comparison compare(const A* got, const B* expected, long n, double floor = 1e-12) {
  comparison c;
  double scale = floor, worst_abs = -1;
  for (long k = 0; k < n; ++k) scale = std::max(scale, std::abs(static_cast<double>(expected[k])));
  for (long k = 0; k < n; ++k) {
    const double d = std::abs(static_cast<double>(got[k]) - static_cast<double>(expected[k]));
    if (!(d <= worst_abs)) {  // also catches NaN
      worst_abs = d, c.worst = k, c.got = static_cast<double>(got[k]),
      c.expected = static_cast<double>(expected[k]);
    }
  }
  c.error = std::isnan(worst_abs) ? INFINITY : worst_abs / scale;
  return c;
}

template <class DA, class DB>
comparison compare(const Eigen::DenseBase<DA>& got, const Eigen::DenseBase<DB>& expected) {
  using namespace charlstm;
  if (got.rows() != expected.rows() || got.cols() != expected.cols()) {
    throw error("compare: shapes differ, " + shape_string(got.rows(), got.cols()) + " vs " +
                shape_string(expected.rows(), expected.cols()));
  }
  const matrix<double> a = got.derived().template cast<double>();
  const matrix<double> b = expected.derived().template cast<double>();
  return compare(a.data(), b.data(), static_cast<long>(a.size()));
}

// One tensor of a fixture: its shape as PyTorch wrote it and its values in row-major order.
struct fixture_tensor {
  std::vector<long> shape;
  std::vector<double> values;

  // The tensor as a column-major matrix of the same (rows, cols): a 2-d tensor as is, a 1-d
  // tensor as a column, a scalar as 1x1.
  charlstm::matrix<double> as_matrix() const {
    const long rows = shape.empty() ? 1 : shape[0];
    const long cols = shape.size() < 2 ? 1 : static_cast<long>(values.size()) / rows;
    charlstm::matrix<double> m(rows, cols);
    for (long r = 0; r < rows; ++r)
      for (long c = 0; c < cols; ++c) m(r, c) = values[static_cast<std::size_t>(r * cols + c)];
    return m;
  }
  double scalar() const { return values.at(0); }
};

struct fixture {
  std::map<std::string, fixture_tensor> tensors;
  const fixture_tensor& operator[](const std::string& name) const {
    auto it = tensors.find(name);
    if (it == tensors.end()) throw charlstm::error("fixture has no tensor '" + name + "'");
    return it->second;
  }
  bool has(const std::string& name) const { return tensors.count(name) != 0; }
};

// Reads the text format of tools/make_fixtures.py ("charlstm-fixture 1", tensors, "end").
inline fixture load_fixture(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw charlstm::error("cannot open fixture '" + path + "': run tools/make_fixtures.py");
  std::string magic;
  int version = 0;
  in >> magic >> version;
  if (magic != "charlstm-fixture" || version != 1) {
    throw charlstm::error(path + ": not a charlstm fixture of version 1");
  }
  fixture f;
  std::string name;
  while (in >> name) {
    if (name == "end") return f;
    if (name[0] == '#') {
      std::getline(in, name);
      continue;
    }
    long ndim = 0;
    in >> ndim;
    fixture_tensor t;
    long count = 1;
    for (long d = 0; d < ndim; ++d) {
      long size = 0;
      in >> size;
      t.shape.push_back(size);
      count *= size;
    }
    t.values.resize(static_cast<std::size_t>(count));
    for (double& v : t.values) in >> v;
    if (!in) throw charlstm::error(path + ": truncated at tensor '" + name + "'");
    f.tensors[name] = std::move(t);
  }
  throw charlstm::error(path + ": missing 'end'");
}

// n random token ids in [0, vocab), from `engine`.
inline std::vector<charlstm::token_id> random_ids(long n, long vocab, std::mt19937_64& engine) {
  std::vector<charlstm::token_id> ids(static_cast<std::size_t>(n));
  for (auto& id : ids)
    id = static_cast<charlstm::token_id>(engine() % static_cast<std::uint64_t>(vocab));
  return ids;
}
inline std::vector<charlstm::token_id> random_ids(long n, long vocab, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  return random_ids(n, vocab, engine);
}

inline std::string data_path(const std::string& file) {
  return std::string(CHARLSTM_DATA_DIR) + "/" + file;
}
inline std::string fixture_path(const std::string& file) {
  return std::string(CHARLSTM_FIXTURE_DIR) + "/" + file;
}

}  // namespace test_support
