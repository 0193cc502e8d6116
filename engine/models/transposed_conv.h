// Transposed convolution for the generator, computed as ordinary convolutions.
//
// Why: Debian's LibTorch (1.13, CPU, no MKL-DNN) runs conv_transpose2d through a slow col2im path —
// measured 6–20× slower (forward + backward) than the same arithmetic done as Conv2d for the dcgan32
// generator's layers. Training, sampling and evaluation all spend most of their time there.
//
// The two layer shapes of dcgan32 get exact rewrites with the same FLOPs and the same parameters (the
// ConvTranspose2d weight [in, out, kH, kW] and bias stay as they are, so files do not change):
//  * 1×1 input, stride 1, padding 0 (the latent projection): a matrix product z · W.flatten(1).
//  * kernel 4, stride 2, padding 1 (every upsampling layer): the "sub-pixel" decomposition. Output pixel
//    (2m+a, 2n+c) only sees input rows {m−1, m} (a = 0, kernel rows 3, 1) or {m, m+1} (a = 1, rows 2, 0),
//    and the same for columns, so each of the four output phases is a 2×2 Conv2d of the zero-padded
//    input; the phases are interleaved back with a reshape.
// Any other configuration falls back to torch::conv_transpose2d. Gradients flow through ordinary ops.
#pragma once
#include <torch/torch.h>

namespace coalesce {

// x: B×in×H×W, weight: in×out×kH×kW (ConvTranspose2d layout), bias: out or undefined.
torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               int64_t stride, int64_t padding);

// The same with a ConvTranspose2d layer's options: square stride/padding, no output padding, dilation 1,
// groups 1 and zero padding take the fast paths; anything else goes to torch's conv_transpose2d.
torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::nn::detail::ConvNdOptions<2>& options);

}  // namespace coalesce
