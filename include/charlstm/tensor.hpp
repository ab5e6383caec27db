// charlstm/tensor.hpp: the storage every other header shares, and the shape letters.
// Not a tensor library: Eigen does the arithmetic; this header only names shapes and buffers.
//
// Shape legend (used in every comment after this one):
//   B  batch: sequences processed together
//   T  steps: time steps per sequence (the book's maxlen)
//   V  vocabulary size = width of the one-hot input and of the softmax
//   H  hidden units of the LSTM
// Storage is Eigen column-major with one column per sequence: a batch of hidden states is (H, B),
// and T steps of it are (H, T*B) with step t in columns [t*B, (t+1)*B).
#pragma once

#include <Eigen/Core>
#include <Eigen/QR>
#include <cstddef>
#include <string>
#include <vector>

#include "config.hpp"
#include "error.hpp"

namespace charlstm {

template <class S>
using matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
template <class S>
using vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;
template <class S>
using matrix_map = Eigen::Map<matrix<S>, Eigen::AlignedMax>;
template <class S>
using vector_map = Eigen::Map<vector<S>, Eigen::AlignedMax>;

// References that accept a matrix or a block of whole columns without copying.  S is never
// deduced from them (the scalar comes from the weights or the cache beside them), so a call may
// pass a matrix, a block or a Map.
template <class T>
struct non_deduced {
  using type = T;
};
template <class S>
using matrix_ref = typename non_deduced<Eigen::Ref<matrix<S>>>::type;
template <class S>
using const_matrix_ref = typename non_deduced<Eigen::Ref<const matrix<S>>>::type;
template <class S>
using vector_ref = typename non_deduced<Eigen::Ref<vector<S>>>::type;
template <class S>
using const_vector_ref = typename non_deduced<Eigen::Ref<const vector<S>>>::type;

// A contiguous, EIGEN_MAX_ALIGN_BYTES-aligned array of scalars.
template <class S>
using aligned_buffer = std::vector<S, Eigen::aligned_allocator<S>>;

// Rounds a scalar count up so that every tensor in a parameter buffer starts aligned.
inline index padded_size(index n) {
  constexpr index align = 16;  // 64 bytes of float; more than EIGEN_MAX_ALIGN_BYTES requires
  return (n + align - 1) / align * align;
}

// "(rows, cols)" for error messages.
inline std::string shape_string(index rows, index cols) {
  return "(" + std::to_string(rows) + ", " + std::to_string(cols) + ")";
}

// Throws unless m has the expected shape.  `what` names the argument in the message.
template <class Derived>
void require_shape(const Eigen::DenseBase<Derived>& m, index rows, index cols, const char* what) {
  if (m.rows() != rows || m.cols() != cols) {
    throw error(std::string(what) + ": expected shape " + shape_string(rows, cols) + ", got " +
                shape_string(m.rows(), m.cols()));
  }
}

}  // namespace charlstm
