// Transposed convolution for the generator, computed partly as ordinary convolutions.
//
// Why: Debian's LibTorch (1.13, CPU; built with oneDNN, which has no ConvTranspose path there) runs
// conv_transpose2d through a col2im path that is slow for the latent projection and collapses when its
// OpenMP threads compete for busy cores.
// Measured on the 2-core machine (bench/bench_transposed_conv, batch 64, forward + backward; see
// bench/README.md): the latent projection is 11–26× faster as a matrix product at any thread count; the
// upsampling layers as sub-pixel Conv2d are 2.4–4.5× faster with 2 threads on a busy machine, but
// 0.6–1.1× (and 0.1× for the one-channel output layer) with 1 thread. Hence the Auto choice below.
//
// Exact rewrites with the same parameters (the ConvTranspose2d weight [in, out, kH, kW] and bias stay as
// they are, so files do not change):
//  * 1×1 input, stride 1, padding 0 (the latent projection): a matrix product z · W.flatten(1).
//  * kernel 4, stride 2, padding 1 (every upsampling layer): the "sub-pixel" decomposition. Output pixel
//    (2m+a, 2n+c) only sees input rows {m−1, m} (a = 0, kernel rows 3, 1) or {m, m+1} (a = 1, rows 2, 0),
//    and the same for columns, so each of the four output phases is a 2×2 Conv2d of the zero-padded
//    input; the phases are interleaved back with a reshape.
// Gradients flow through ordinary ops. Anything else falls back to torch::conv_transpose2d.
#pragma once
#include <torch/torch.h>

namespace coalesce {

// Auto: matrix product for the latent projection; sub-pixel upsampling when LibTorch runs more than one
// intra-op thread; torch::conv_transpose2d otherwise. The others force one formulation (tests, benchmarks).
enum class TransposedConvAlgorithm { Auto, Torch, SubPixel };

// x: B×in×H×W, weight: in×out×kH×kW (ConvTranspose2d layout), bias: out or undefined.
torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               int64_t stride, int64_t padding,
                               TransposedConvAlgorithm algorithm = TransposedConvAlgorithm::Auto);

// The same with a ConvTranspose2d layer's options: square stride/padding, no output padding, dilation 1,
// groups 1 and zero padding take the fast paths; anything else goes to torch's conv_transpose2d.
torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::nn::detail::ConvNdOptions<2>& options);

}  // namespace coalesce
