// Pictures of data and models computed by the engine (LibTorch), for previews. Torch-free header;
// the functions are slow (they load data) and are meant to run off the GUI thread (QtConcurrent).
#pragma once
#include <QImage>
#include <QPointF>
#include <QString>
#include <QVector>

struct EngineSamples {
    QImage grid;                // image data: the samples as one grid
    QVector<QPointF> points;    // toy data: the first two coordinates
    QString description;        // e.g. "fashion-mnist:train:8,9 (k=20, seed=1) · 20 of 12000"
    QString error;              // user-facing reason if it failed
};

// The n samples the adaptation stage would draw from `spec` with `seed` (engine: loadDataset +
// kShotSubset). Never throws.
EngineSamples previewLocalData(const QString& spec, int count, qint64 seed);

// Toy mode: `count` samples of a 2-D generator file (fixed latent seed, so successive checkpoints
// are comparable). Error if the file is not a point generator. Never throws.
EngineSamples sampleGeneratorPoints(const QString& generatorFile, int count, quint64 seed);
// Toy mode: up to `maxCount` points of a dataset spec (e.g. "toy:ring8"). Never throws.
EngineSamples loadDataPoints(const QString& spec, int maxCount);
