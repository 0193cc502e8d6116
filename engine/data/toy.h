// 2-D Gaussian mixtures for the toy mode: cheap "pre-trained sources" whose barycenters can be seen and
// whose W1 distances are known in closed form for simple cases (two Gaussians with the same std that
// differ by a shift d are at W1 = |d|). All components are isotropic and equally weighted.
//   ring8                    8 Gaussians on a circle of radius 2, std 0.02 (Metz et al., Unrolled GANs)
//   grid25                   5×5 Gaussians at {−4,−2,0,2,4}², std 0.05 (the VEEGAN / PacGAN grid)
//   ring:<k>,<radius>,<std>  k Gaussians, component i at angle 2πi/k (component 0 on the +x axis)
//   grid:<k>,<spacing>,<std> k×k Gaussians on a grid centred on the origin, row-major from (−,−)
//   gauss:<mx>,<my>,<std>    one Gaussian
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "data/dataset.h"

namespace coalesce {

struct GaussianMixture {
    std::string name;                           // canonical text, parseable again
    std::vector<std::array<double, 2>> means;  // one per component
    std::vector<double> stds;                  // isotropic standard deviation per component

    // Throws coalesce::Error naming the text and what is wrong with it.
    static GaussianMixture parse(const std::string& text);
    // n×2 float samples, reproducible from seed on every platform (own RNG, see data/random.h).
    // *components (optional) receives the component index of each sample (int64, n).
    torch::Tensor sample(int64_t n, uint64_t seed, torch::Tensor* components = nullptr) const;
    torch::Tensor meansTensor() const;  // K×2 float
};

// The part of a "toy:" spec after "toy:", i.e. <mixture>[:n[:seed]]. Labels = component index.
Dataset loadToyDataset(const std::string& spec);

}  // namespace coalesce
