// TensorBoard's scalar smoothing: an exponential moving average with bias correction, so the first
// points are not dragged toward 0 (tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts,
// classicSmoothing):
//     last = last·w + (1 − w)·y;   n += 1;   out = last / (1 − w^n)
// Non-finite values pass through and do not enter the average; a series that has been constant so
// far is returned exactly (TensorBoard issue #786). Streaming, so live curves append in O(1).
#pragma once
#include <QVector>

class DebiasedEma {
public:
    explicit DebiasedEma(double weight = 0.6) : weight_(weight) {}
    double push(double y);
    void reset();
    double weight() const { return weight_; }

private:
    double weight_;
    double last_ = 0;
    long long count_ = 0;
    double powW_ = 1;          // w^count, kept incrementally
    bool constantSoFar_ = true;
    double first_ = 0;
};

// Whole-series convenience (CSV export, tests).
QVector<double> smoothDebiasedEma(const QVector<double>& values, double weight);
