// charlstm/init.hpp: Keras's weight initialisers, Glorot-uniform and orthogonal, drawn with
// random.hpp.  Not which layer uses which: lstm_init (lstm.hpp) and dense_init (dense.hpp) say
// that.
#pragma once

#include <cmath>

#include "random.hpp"
#include "tensor.hpp"

namespace charlstm {

// Glorot (Xavier) uniform, as Keras: U(-l, l) with l = sqrt(6 / (fan_in + fan_out)).
template <class S, class Engine>
void glorot_uniform(matrix_ref<S> w, index fan_in, index fan_out, Engine& engine) {
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  for (index k = 0; k < w.size(); ++k) {
    w.data()[k] = static_cast<S>((2.0 * uniform01(engine) - 1.0) * limit);
  }
}

// Orthogonal, as Keras: the Q of a Gaussian matrix's QR, signs fixed by diag(R).  For a tall
// (4H, H) matrix the columns are orthonormal.
template <class S, class Engine>
void orthogonal(matrix_ref<S> w, Engine& engine) {
  const bool tall = w.rows() >= w.cols();
  matrix<double> a(tall ? w.rows() : w.cols(), tall ? w.cols() : w.rows());
  for (index k = 0; k < a.size(); ++k) a.data()[k] = standard_normal(engine);
  Eigen::HouseholderQR<matrix<double>> qr(a);
  matrix<double> q = qr.householderQ() * matrix<double>::Identity(a.rows(), a.cols());
  const matrix<double> r = qr.matrixQR().topRows(a.cols()).template triangularView<Eigen::Upper>();
  for (index j = 0; j < a.cols(); ++j) {
    if (r(j, j) < 0) q.col(j) *= -1.0;
  }
  if (tall) {
    w = q.cast<S>();
  } else {
    w = q.transpose().cast<S>();
  }
}

}  // namespace charlstm
