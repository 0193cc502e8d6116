// The per-layer view of a ternarize run: what its report (<output>.report.json, written by the engine's
// ternaryReport) says about each layer — sparsity, the share of +1 / −1 codes, scales and threshold —
// so a user sees which layers lost most, not only the whole-model FID ratio. Pure data (Qt Core).
#pragma once
#include <QString>
#include <QStringList>
#include <QVector>

struct TernaryLayerRow {
    QString name;   // "net.0"
    QString kind;   // "linear", "conv", "conv_transpose"
    QString shape;  // "64×128×4×4"
    qint64 weights = 0;
    double zeroFraction = 0, positiveFraction = 0, negativeFraction = 0;
    double scalePos = 0, scaleNeg = 0, threshold = 0, thresholdOverMaxAbs = 0;
};

struct TernaryLayers {
    QString reportPath;
    QString method;
    QVector<TernaryLayerRow> layers;  // in network order
    QStringList floatLayers;          // weight layers kept in float
};

// Reads the report of the ternarize run in runDir: the path summary.json names ("report"), else the
// only *.report.json in the folder. False with a specific error when there is none or it is malformed.
bool readTernaryLayers(const QString& runDir, TernaryLayers* out, QString* error);
