// Static line charts as images (for experiment reports written without Qt): one line per series,
// an optional translucent band (mean ± std over seeds), nice axis ticks, a legend, linear or log y.
// Drawn with OpenCV; without OpenCV renderLineChart throws coalesce::Error like image_io does.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/job.h"

namespace coalesce {

struct ChartColour {
    std::uint8_t r = 0, g = 0, b = 0;
};

// The i-th colour of the fixed colour-blind-safe palette (Okabe & Ito), cycling; series without a
// colour get palette colour i by their position, so the same index always means the same colour.
ChartColour chartPaletteColour(int index);

struct LineSeries {
    std::string label;                   // legend text (ASCII; an empty label keeps it out of the legend)
    std::optional<ChartColour> colour;   // default: chartPaletteColour(position in LineChart::series)
    std::vector<double> x, y;            // same length; NaN (or y <= 0 on a log axis) leaves a gap
    std::vector<double> yLow, yHigh;     // optional band, both empty or both as long as x
};

struct LineChart {
    std::string title, xLabel, yLabel;
    bool logY = false;
    int width = 900, height = 560;       // pixels; at least 160 × 120
    std::vector<LineSeries> series;
};

// An RGB image of chart.width × chart.height. Throws coalesce::Error for inconsistent series lengths,
// a too small size, or when built without OpenCV. Degenerate data (no points, one point, all values
// equal, nothing positive on a log axis) still gives a valid chart.
ImageU8 renderLineChart(const LineChart& chart);

}  // namespace coalesce
