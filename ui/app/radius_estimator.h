// "Estimate η from the local data" (the Sources dock's button): the engine's radii-auto step
// (train/radius_estimation.h, exactly what a barycenter job with "radii": "auto" computes) for the
// project's generators and local samples. Torch-free header; slow (loads models and data, may train the
// feature net on first use), so it runs off the GUI thread.
#pragma once
#include <QJsonArray>
#include <QString>
#include <QStringList>
#include <QVector>

struct RadiusEstimation {
    QVector<double> eta, stddev, low, high;  // per generator, in the order given
    QStringList log;                         // the engine's log lines (one per source, then the coverage check)
    // The coverage check (train/radius_estimation.h, CoverageCheck) with two or more generators, else empty:
    // "blend" | "nearest" | "unclear"; W1 from the local samples to the λ ∝ 1/η blend and to the nearest
    // source (an index into the generators given).
    QString regime;
    double blendEta = 0, nearestEta = 0;
    int nearest = -1;
    bool suggestsMixture = false;            // the engine's "mode": "auto" rule for this regime (coalescence.h)
    QString error;                           // user-facing reason if it failed
};

// sources: as a barycenter job config lists them (sourceConfigEntry: generator files and TorchScript black
// boxes; radii are ignored); space: "features" (the classifier features behind FID) or "pixels". Never throws.
RadiusEstimation estimateRadiiFromLocalData(const QJsonArray& sources, const QString& localSpec, int count, qint64 seed,
                                            const QString& space);
