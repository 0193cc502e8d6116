// The linear assignment problem: a permutation σ minimising Σ_i C[i][σ(i)] for a dense n×n cost matrix.
// Exact W1 between two sets of n points with uniform weights is this problem (the transport polytope's
// vertices are then the permutation matrices, Birkhoff–von Neumann), and a shortest-augmenting-path solver
// is several times faster than a general network simplex on it (bench/w1_vs_pot.sh).
//
// Written here rather than taken from a library: Debian packages no C++ assignment solver (LEMON has
// min-cost-flow and matching, not a dense LAP solver), and the algorithm is short. It is the
// Jonker–Volgenant-style shortest augmenting path of Crouse, "On implementing 2D rectangular assignment
// algorithms" (IEEE TAES 2016), the method of SciPy's linear_sum_assignment, restricted to square
// matrices. Costs are float64; the optimum is exact up to float64 rounding in the dual updates.
#pragma once
#include <cstdint>
#include <vector>

namespace coalesce {

// cost: row-major n×n, finite. Returns columnOfRow (a permutation of 0..n-1). n = 0 gives {}.
std::vector<int64_t> solveAssignment(const double* cost, int64_t n);

}  // namespace coalesce
