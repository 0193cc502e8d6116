// Axis arithmetic for the line-chart renderer: tick values people read at a glance ("nice numbers",
// 1, 2 or 5 × 10^k, after Heckbert, Graphics Gems I) and their labels. Pure C++, no OpenCV, so it is
// testable in every build.
#pragma once
#include <string>
#include <vector>

namespace coalesce::chart {

// The nice number (1, 2, 5 or 10 × 10^k) nearest to x (round = true) or the smallest one >= x
// (round = false). x must be > 0.
double niceNumber(double x, bool round);

// A drawn axis: its value range and the tick values inside it.
struct AxisTicks {
    double lo = 0, hi = 1;       // drawn range (log axes: still in data units, lo > 0)
    double step = 0;             // spacing of linear ticks (0 for decade/1-2-5 log ticks)
    std::vector<double> values;  // ascending, all within [lo, hi]
};

// Linear axis over [lo, hi] (lo < hi) with about targetCount ticks at multiples of a nice step. With
// expandToTicks the range grows outwards to the enclosing ticks (y axes); without, it stays as given (x).
AxisTicks linearTicks(double lo, double hi, int targetCount, bool expandToTicks);

// Log axis over [lo, hi] (0 < lo < hi): decades when the range spans several, 1-2-5 values within
// decades when that gives enough ticks, otherwise linear nice values (an FID axis from 100 to 150).
AxisTicks logTicks(double lo, double hi, int targetCount);

// A tick label with as many decimals as the tick spacing needs ("0.05", "200", "1e+06"). step <= 0:
// the value alone decides (log ticks).
std::string formatTick(double value, double step);

// Makes a range drawable when all data share one value (or there is a single point): widens it around
// that value (by a factor for log axes). lo/hi are updated in place; a valid range is left alone.
void widenDegenerateRange(double& lo, double& hi, bool log);

}  // namespace coalesce::chart
