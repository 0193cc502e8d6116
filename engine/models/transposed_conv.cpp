#include "models/transposed_conv.h"

namespace coalesce {

namespace {

torch::Tensor latentProjection(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    // out[b, o, i, j] = Σ_c x[b, c] · W[c, o, i, j]
    const auto out = x.flatten(1).matmul(weight.flatten(1)).view({x.size(0), weight.size(1), weight.size(2), weight.size(3)});
    return bias.defined() ? out + bias.view({1, -1, 1, 1}) : out;
}

torch::Tensor subPixelUpsample(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
    using torch::indexing::Slice;
    const int64_t H = x.size(2), W = x.size(3);
    const auto padded = torch::constant_pad_nd(x, {1, 1, 1, 1});
    const auto kernel = weight.transpose(0, 1);  // out×in×4×4, Conv2d layout
    // Phase a (rows) / c (columns): kernel taps in the order of the two input rows/columns it reads.
    static const int64_t taps[2][2] = {{3, 1}, {2, 0}};
    std::vector<torch::Tensor> rows;
    for (int64_t a = 0; a < 2; ++a) {
        std::vector<torch::Tensor> cols;
        for (int64_t c = 0; c < 2; ++c) {
            const auto rowIdx = torch::tensor({taps[a][0], taps[a][1]}, torch::dtype(torch::kLong).device(weight.device()));
            const auto colIdx = torch::tensor({taps[c][0], taps[c][1]}, torch::dtype(torch::kLong).device(weight.device()));
            const auto k = kernel.index_select(2, rowIdx).index_select(3, colIdx);
            const auto input = padded.index({Slice(), Slice(), Slice(a, a + H + 1), Slice(c, c + W + 1)});
            cols.push_back(torch::conv2d(input, k));  // B×out×H×W
        }
        rows.push_back(torch::stack(cols, -1));  // B×out×H×W×2 (c)
    }
    auto out = torch::stack(rows, 3).reshape({x.size(0), weight.size(1), 2 * H, 2 * W});  // B×out×H×2×W×2
    return bias.defined() ? out + bias.view({1, -1, 1, 1}) : out;
}

}  // namespace

torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               int64_t stride, int64_t padding, TransposedConvAlgorithm algorithm) {
    using A = TransposedConvAlgorithm;
    if (algorithm != A::Torch && x.dim() == 4 && weight.dim() == 4 && x.size(1) == weight.size(0)) {
        if (stride == 1 && padding == 0 && x.size(2) == 1 && x.size(3) == 1) return latentProjection(x, weight, bias);
        const bool upsampling = stride == 2 && padding == 1 && weight.size(2) == 4 && weight.size(3) == 4;
        if (upsampling && (algorithm == A::SubPixel || at::get_num_threads() > 1)) return subPixelUpsample(x, weight, bias);
    }
    return torch::conv_transpose2d(x, weight, bias, {stride, stride}, {padding, padding});
}

torch::Tensor transposedConv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               const torch::nn::detail::ConvNdOptions<2>& o) {
    const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
    const bool plain = padding && (*padding)->at(0) == (*padding)->at(1) && o.stride()->at(0) == o.stride()->at(1) &&
                       o.output_padding()->at(0) == 0 && o.output_padding()->at(1) == 0 && o.dilation()->at(0) == 1 &&
                       o.dilation()->at(1) == 1 && o.groups() == 1 &&
                       c10::holds_alternative<torch::enumtype::kZeros>(o.padding_mode());
    if (plain) return transposedConv2d(x, weight, bias, o.stride()->at(0), (*padding)->at(0));
    if (!padding) throw std::invalid_argument("transposedConv2d: transposed convolutions need numeric padding");
    return torch::nn::functional::conv_transpose2d(x, weight,
                                                   torch::nn::functional::ConvTranspose2dFuncOptions()
                                                       .bias(bias)
                                                       .stride(o.stride())
                                                       .padding(*padding)
                                                       .output_padding(o.output_padding())
                                                       .groups(o.groups())
                                                       .dilation(o.dilation()));
}

}  // namespace coalesce
