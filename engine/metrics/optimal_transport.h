// Wasserstein-1 distances between two empirical distributions (uniform weights 1/n and 1/m), with the
// Euclidean ground cost ‖x − y‖₂:
//   exactW1   solves the transport linear program exactly: for n = m as an assignment problem
//             (metrics/assignment.h: shortest augmenting paths), otherwise with LEMON's network simplex;
//   slicedW1  averages exact 1-D W1 over random unit projections (cheap enough to log every iteration).
// Samples are N×... tensors (images are flattened); all arithmetic is float64 on the CPU.
#pragma once
#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace coalesce {

struct ExactW1Result {
    double value = 0.0;      // W1 = Σ_ij P_ij ‖x_i − y_j‖, P the optimal plan (rows sum to 1/n, cols to 1/m)
    int64_t planSupport = 0; // number of non-zero entries of the optimal plan (≤ n + m − 1 at a vertex)
};

// Which exact solver: Auto = the assignment solver when n = m, else the network simplex (the only one
// that handles n ≠ m). The two agree to float64 rounding on square problems (tested); the choice exists
// for that test and for bench/w1_vs_pot.sh.
enum class TransportSolver { Auto, NetworkSimplex, Assignment };

// The Euclidean ground cost ‖a_i − b_j‖ of two N×D float64 matrices, through ‖a‖² + ‖b‖² − 2a·b (one
// BLAS product; the cancellation error ~1e-16 ‖a‖² is far below the 1e-6 accuracy W1 promises). The one
// rule for W1 ground costs, used by exactW1 and by the radius estimation's bootstrap.
torch::Tensor euclideanDistances(const torch::Tensor& a, const torch::Tensor& b);

// Exact W1 between the sample sets x (n×...) and y (m×...), n and m may differ. Throws coalesce::Error
// for empty sets, different sample dimensions or NaN/Inf.
ExactW1Result exactW1(const torch::Tensor& x, const torch::Tensor& y, TransportSolver solver = TransportSolver::Auto);

// Exact optimal transport cost for a given n×m ground-cost matrix (finite, ≥ 0) with uniform marginals.
ExactW1Result exactTransportCost(const torch::Tensor& cost, TransportSolver solver = TransportSolver::Auto);

// Exact 1-D W1 = ∫|F − G| between two samples on the real line (sizes may differ).
double w1OneDimensional(std::vector<double> a, std::vector<double> b);

struct SlicedW1Options {
    int projections = 256;  // number of random directions θ ~ uniform on the unit sphere
    uint64_t seed = 0;      // the directions are a function of (seed, dimension) only
};

// Sliced W1 = mean over θ of W1(θ·x, θ·y). A lower bound of W1 (projection is 1-Lipschitz).
double slicedW1(const torch::Tensor& x, const torch::Tensor& y, const SlicedW1Options& options = {});

}  // namespace coalesce
