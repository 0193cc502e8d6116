#include "train/weight_rule.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "core/error.h"

namespace coalesce {

std::vector<double> lambdasFromRadii(const std::vector<double>& radii, double power, const std::vector<bool>& enabled) {
    std::vector<double> w(radii.size(), 0.0);
    double sum = 0;
    for (std::size_t k = 0; k < radii.size(); ++k) {
        if (!enabled.empty() && (k >= enabled.size() || !enabled[k])) continue;
        if (!(radii[k] > 0) || !std::isfinite(radii[k]))
            throw Error("radii: every η must be finite and > 0, got " + std::to_string(radii[k]));
        w[k] = std::pow(radii[k], -power);
        sum += w[k];
    }
    if (sum > 0)
        for (double& x : w) x /= sum;
    return w;
}

std::vector<std::size_t> mergeOrder(const std::vector<double>& lambdas) {
    std::vector<std::size_t> order(lambdas.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return lambdas[a] > lambdas[b]; });
    return order;
}

}  // namespace coalesce
