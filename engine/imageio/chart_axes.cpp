#include "imageio/chart_axes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>

namespace coalesce::chart {

double niceNumber(double x, bool round) {
    const double exponent = std::floor(std::log10(x));
    const double power = std::pow(10.0, exponent);
    const double fraction = x / power;  // in [1, 10)
    double nice;
    if (round)
        nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
    else
        nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
    return nice * power;
}

AxisTicks linearTicks(double lo, double hi, int targetCount, bool expandToTicks) {
    AxisTicks axis;
    axis.lo = lo;
    axis.hi = hi;
    const int count = std::max(2, targetCount);
    const double range = niceNumber(hi - lo, false);
    axis.step = niceNumber(range / (count - 1), true);
    double first = std::ceil(lo / axis.step - 1e-9) * axis.step;
    double last = std::floor(hi / axis.step + 1e-9) * axis.step;
    if (expandToTicks) {
        first = std::floor(lo / axis.step + 1e-9) * axis.step;
        last = std::ceil(hi / axis.step - 1e-9) * axis.step;
        axis.lo = std::min(lo, first);
        axis.hi = std::max(hi, last);
    }
    // Counting by index (not by repeated addition) keeps 0.1 + 0.2 style drift out of the labels.
    const long n = std::lround((last - first) / axis.step);
    for (long i = 0; i <= n && i < 1000; ++i) {
        double v = first + static_cast<double>(i) * axis.step;
        if (std::fabs(v) < axis.step * 1e-9) v = 0;  // no "-0"
        if (v >= axis.lo - axis.step * 1e-9 && v <= axis.hi + axis.step * 1e-9) axis.values.push_back(v);
    }
    return axis;
}

AxisTicks logTicks(double lo, double hi, int targetCount) {
    AxisTicks axis;
    axis.lo = lo;
    axis.hi = hi;
    const int count = std::max(2, targetCount);
    const int firstDecade = static_cast<int>(std::floor(std::log10(lo)));
    const int lastDecade = static_cast<int>(std::ceil(std::log10(hi)));
    auto inside = [&](double v) { return v >= lo * (1 - 1e-12) && v <= hi * (1 + 1e-12); };

    // Decades, thinned to every m-th when there are too many.
    std::vector<double> decades;
    for (int d = firstDecade; d <= lastDecade; ++d)
        if (inside(std::pow(10.0, d))) decades.push_back(std::pow(10.0, d));
    if (decades.size() >= 3) {
        const size_t stride = (decades.size() + count - 1) / count;
        for (size_t i = 0; i < decades.size(); i += stride) axis.values.push_back(decades[i]);
        return axis;
    }
    // 1-2-5 within each decade, or 1-2-3-5 when that leaves only three or fewer marks.
    auto withinDecades = [&](std::initializer_list<double> mantissas) {
        std::vector<double> values;
        for (int d = firstDecade; d <= lastDecade; ++d)
            for (double m : mantissas)
                if (inside(m * std::pow(10.0, d))) values.push_back(m * std::pow(10.0, d));
        return values;
    };
    for (auto mantissas : {std::initializer_list<double>{1, 2, 5}, std::initializer_list<double>{1, 2, 3, 5}}) {
        axis.values = withinDecades(mantissas);
        if (axis.values.size() >= 4) return axis;
    }
    if (axis.values.size() >= 3) return axis;
    // Under a decade: evenly spaced values read better than one or two 1-2-5 marks.
    return linearTicks(lo, hi, count, false);
}

std::string formatTick(double value, double step) {
    char buffer[64];
    if (value == 0) return "0";
    const double magnitude = step > 0 ? step : std::fabs(value);
    if (magnitude >= 1e5 || magnitude < 1e-4) {
        std::snprintf(buffer, sizeof buffer, "%.3g", value);
    } else if (step > 0) {
        const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
        std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    } else {
        std::snprintf(buffer, sizeof buffer, "%g", value);
    }
    return buffer;
}

void widenDegenerateRange(double& lo, double& hi, bool log) {
    if (hi > lo) return;
    const double centre = lo;
    if (log) {
        lo = centre / std::sqrt(10.0);
        hi = centre * std::sqrt(10.0);
    } else if (centre == 0) {
        lo = -1;
        hi = 1;
    } else {
        lo = centre - std::fabs(centre) * 0.1;
        hi = centre + std::fabs(centre) * 0.1;
    }
}

}  // namespace coalesce::chart
