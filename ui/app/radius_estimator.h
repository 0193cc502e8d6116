// "Estimate η from the local data" (the Sources dock's button): the engine's radii-auto step
// (train/radius_estimation.h, exactly what a barycenter job with "radii": "auto" computes) for the
// project's generators and local samples. Torch-free header; slow (loads models and data, may train the
// feature net on first use), so it runs off the GUI thread.
#pragma once
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
    QString error;                           // user-facing reason if it failed
};

// space: "features" (the classifier features behind FID) or "pixels"; names: the sources' names for the log
// lines (the files' paths where missing). Never throws.
RadiusEstimation estimateRadiiFromLocalData(const QStringList& generatorFiles, const QStringList& names,
                                            const QString& localSpec, int count, qint64 seed, const QString& space);
