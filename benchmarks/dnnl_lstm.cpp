// oneDNN's LSTM primitive alone (lstm_forward in training mode + lstm_backward, f32), for the
// book's shapes (T 60, B 128, V 57 one-hot as a dense input, H 128): the oneDNN row of
// compare.sh.  No dense layer, loss or optimizer, so it does less work than a charlstm train step.
// Built only when CMake finds oneDNN (Debian: libdnnl-dev); threads come from OMP_NUM_THREADS.
//   OMP_NUM_THREADS=2 bench_dnnl_lstm [--benchmark_format=json]
// Counters: items_per_second = sequences/s; GFLOP/s over charlstm's 23.6 MFLOP per sequence, so
// that the two rates compare directly.
#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

constexpr memory::dim T = 60, B = 128, V = 57, H = 128;

// A memory of `md`, filled through a reorder from plain random values in `plain` layout.
memory random_memory(const memory::desc& md, const memory::dims& dims, tag plain,
                     dnnl::engine& eng, dnnl::stream& s, std::mt19937& engine) {
  memory user({dims, dt::f32, plain}, eng);
  std::uniform_real_distribution<float> u(-0.1f, 0.1f);
  auto* p = static_cast<float*>(user.get_data_handle());
  for (std::size_t k = 0; k < user.get_desc().get_size() / sizeof(float); ++k) p[k] = u(engine);
  if (md == user.get_desc()) return user;
  memory m(md, eng);
  dnnl::reorder(user, m).execute(s, user, m);
  s.wait();
  return m;
}

void bm_dnnl_lstm_train(benchmark::State& state) {
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  std::mt19937 engine(1);
  const memory::dims src_dims = {T, B, V}, iter_dims = {1, 1, B, H}, dst_dims = {T, B, H};
  const memory::dims wl_dims = {1, 1, V, 4, H}, wi_dims = {1, 1, H, 4, H}, b_dims = {1, 1, 4, H};
  const memory::desc src_md(src_dims, dt::f32, tag::tnc), iter_md(iter_dims, dt::f32, tag::ldnc),
      dst_md(dst_dims, dt::f32, tag::tnc), bias_md(b_dims, dt::f32, tag::ldgo);
  const memory::desc wl_any(wl_dims, dt::f32, tag::any), wi_any(wi_dims, dt::f32, tag::any);
  const auto dir = dnnl::rnn_direction::unidirectional_left2right;

  const dnnl::lstm_forward::desc fwd_desc(dnnl::prop_kind::forward_training, dir, src_md, iter_md,
                                          iter_md, wl_any, wi_any, bias_md, dst_md, iter_md,
                                          iter_md);
  const dnnl::lstm_forward::primitive_desc fwd_pd(fwd_desc, eng);
  const dnnl::lstm_backward::desc bwd_desc(
      dnnl::prop_kind::backward, dir, src_md, iter_md, iter_md, wl_any, wi_any, bias_md, dst_md,
      iter_md, iter_md, src_md, iter_md, iter_md, wl_any, wi_any, bias_md, dst_md, iter_md,
      iter_md);
  const dnnl::lstm_backward::primitive_desc bwd_pd(bwd_desc, eng, fwd_pd);

  auto mem = [&](const memory::desc& md, const memory::dims& dims, tag plain) {
    return random_memory(md, dims, plain, eng, s, engine);
  };
  memory src = mem(src_md, src_dims, tag::tnc), h0 = mem(iter_md, iter_dims, tag::ldnc),
         c0 = mem(iter_md, iter_dims, tag::ldnc), bias = mem(bias_md, b_dims, tag::ldgo);
  memory wl_fwd = mem(fwd_pd.weights_layer_desc(), wl_dims, tag::ldigo);
  memory wi_fwd = mem(fwd_pd.weights_iter_desc(), wi_dims, tag::ldigo);
  memory wl_bwd = mem(bwd_pd.weights_layer_desc(), wl_dims, tag::ldigo);
  memory wi_bwd = mem(bwd_pd.weights_iter_desc(), wi_dims, tag::ldigo);
  memory dst(dst_md, eng), hT(iter_md, eng), cT(iter_md, eng);
  memory workspace(fwd_pd.workspace_desc(), eng);
  memory d_dst = mem(dst_md, dst_dims, tag::tnc), d_hT = mem(iter_md, iter_dims, tag::ldnc),
         d_cT = mem(iter_md, iter_dims, tag::ldnc);
  memory d_src(src_md, eng), d_h0(iter_md, eng), d_c0(iter_md, eng), d_bias(bias_md, eng);
  memory d_wl(bwd_pd.diff_weights_layer_desc(), eng), d_wi(bwd_pd.diff_weights_iter_desc(), eng);

  const dnnl::lstm_forward forward(fwd_pd);
  const dnnl::lstm_backward backward(bwd_pd);
  const std::unordered_map<int, memory> fwd_args = {
      {DNNL_ARG_SRC_LAYER, src},        {DNNL_ARG_SRC_ITER, h0},
      {DNNL_ARG_SRC_ITER_C, c0},        {DNNL_ARG_WEIGHTS_LAYER, wl_fwd},
      {DNNL_ARG_WEIGHTS_ITER, wi_fwd},  {DNNL_ARG_BIAS, bias},
      {DNNL_ARG_DST_LAYER, dst},        {DNNL_ARG_DST_ITER, hT},
      {DNNL_ARG_DST_ITER_C, cT},        {DNNL_ARG_WORKSPACE, workspace}};
  std::unordered_map<int, memory> bwd_args = fwd_args;
  bwd_args[DNNL_ARG_WEIGHTS_LAYER] = wl_bwd;
  bwd_args[DNNL_ARG_WEIGHTS_ITER] = wi_bwd;
  bwd_args.insert({{DNNL_ARG_DIFF_DST_LAYER, d_dst},
                   {DNNL_ARG_DIFF_DST_ITER, d_hT},
                   {DNNL_ARG_DIFF_DST_ITER_C, d_cT},
                   {DNNL_ARG_DIFF_SRC_LAYER, d_src},
                   {DNNL_ARG_DIFF_SRC_ITER, d_h0},
                   {DNNL_ARG_DIFF_SRC_ITER_C, d_c0},
                   {DNNL_ARG_DIFF_WEIGHTS_LAYER, d_wl},
                   {DNNL_ARG_DIFF_WEIGHTS_ITER, d_wi},
                   {DNNL_ARG_DIFF_BIAS, d_bias}});

  for (auto _ : state) {
    forward.execute(s, fwd_args);
    backward.execute(s, bwd_args);
    s.wait();
  }
  state.SetItemsProcessed(state.iterations() * B);
  const double flops_per_sequence = 3.0 * 2 * 4 * H * H * T + 3.0 * 2 * V * H;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops_per_sequence * B * 1e-9 * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate);
}
BENCHMARK(bm_dnnl_lstm_train)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
