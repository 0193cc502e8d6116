#include "plots/smoothing.h"

#include <cmath>

double DebiasedEma::push(double y) {
    if (!std::isfinite(y)) return y;
    if (count_ == 0) {
        first_ = y;
    } else if (y != first_) {
        constantSoFar_ = false;
    }
    last_ = last_ * weight_ + (1.0 - weight_) * y;
    ++count_;
    powW_ *= weight_;
    if (constantSoFar_) return y;
    const double debias = weight_ >= 1.0 ? 1.0 : 1.0 - powW_;
    return debias > 0 ? last_ / debias : y;
}

void DebiasedEma::reset() {
    last_ = 0;
    count_ = 0;
    powW_ = 1;
    constantSoFar_ = true;
    first_ = 0;
}

QVector<double> smoothDebiasedEma(const QVector<double>& values, double weight) {
    DebiasedEma ema(weight);
    QVector<double> out;
    out.reserve(values.size());
    for (double v : values) out << ema.push(v);
    return out;
}
