#include "project/weights.h"

#include <algorithm>
#include <numeric>

QVector<double> weightsFromRadii(const QVector<double>& radii, const QVector<bool>& enabled) {
    QVector<double> w(radii.size(), 0.0);
    double sum = 0;
    for (int k = 0; k < radii.size(); ++k) {
        if (k < enabled.size() && !enabled[k]) continue;
        if (!(radii[k] > 0)) continue;
        w[k] = 1.0 / radii[k];
        sum += w[k];
    }
    if (sum > 0)
        for (double& x : w) x /= sum;
    return w;
}

QVector<int> descendingWeightOrder(const QVector<double>& weights) {
    QVector<int> order(weights.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return weights[a] > weights[b]; });
    return order;
}
