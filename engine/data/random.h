// A small, fully specified random number generator for data selection (k-shot subsets, epoch
// shuffles, toy samples). std::shuffle, std::uniform_int_distribution and std::normal_distribution
// are implementation-defined, and torch's generators may change between releases: a run's k-shot
// subset must be the same on every machine and version, so the algorithms are written out here.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>
#include <vector>

namespace coalesce {

// SplitMix64 (Steele, Lea, Flood 2014): 64-bit state, passes BigCrush, trivially seedable.
class SplitMix64 {
public:
    explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound), unbiased (rejection of the incomplete last block). bound > 0.
    std::uint64_t below(std::uint64_t bound) {
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                    std::numeric_limits<std::uint64_t>::max() % bound;
        std::uint64_t x;
        do x = next(); while (x >= limit);
        return x % bound;
    }
    // Uniform in (0, 1]: never 0, so log() is safe.
    double uniformOpenZero() { return (static_cast<double>(next() >> 11) + 1.0) * 0x1.0p-53; }
    // Standard normal by Box–Muller (both values of each pair are used).
    double normal() {
        if (haveSpare_) {
            haveSpare_ = false;
            return spare_;
        }
        const double radius = std::sqrt(-2.0 * std::log(uniformOpenZero()));
        const double angle = 6.283185307179586476925 * uniformOpenZero();  // 2π
        spare_ = radius * std::sin(angle);
        haveSpare_ = true;
        return radius * std::cos(angle);
    }

private:
    std::uint64_t state_;
    double spare_ = 0.0;
    bool haveSpare_ = false;
};

// Combines a user seed with a stream number (e.g. the epoch) into an independent seed.
inline std::uint64_t mixSeed(std::uint64_t seed, std::uint64_t stream) {
    SplitMix64 a(seed);
    SplitMix64 b(a.next() ^ (stream * 0xd1b54a32d192ed03ULL + 0x8cb92ba72f3d8dd7ULL));
    return b.next();
}

// Fisher–Yates permutation of 0..n-1. The first k entries are a uniformly random k-subset in random
// order, and for a fixed (n, seed) they do not depend on k: k-shot subsets drawn with one seed are
// nested (the 8 samples are among the 20, which are among the 100).
inline std::vector<std::int64_t> randomPermutation(std::int64_t n, std::uint64_t seed) {
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    std::iota(order.begin(), order.end(), std::int64_t{0});
    SplitMix64 rng(seed);
    for (std::int64_t i = 0; i + 1 < n; ++i) {
        auto j = i + static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(n - i)));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    return order;
}

}  // namespace coalesce
