// Barycenter weights from trust radii: λ_k ∝ 1/η_k over the enabled sources, normalised to Σλ = 1
// (METHOD.md, "fixed" mode). A small radius (high trust) means a large weight.
#pragma once
#include <QStringList>
#include <QVector>

// radii[k] > 0; enabled[k] false gives λ_k = 0. All zero if no source is enabled.
QVector<double> weightsFromRadii(const QVector<double>& radii, const QVector<bool>& enabled);
// Recursive-mode default order: indices by descending λ (ascending η), ties kept in list order.
QVector<int> descendingWeightOrder(const QVector<double>& weights);

constexpr double kMinRadius = 1e-3;
constexpr double kMaxRadius = 1e3;
