#include "imageio/line_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "imageio/chart_axes.h"
#include "imageio/chart_clip.h"

#ifdef COALESCE_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#endif

namespace coalesce {

ChartColour chartPaletteColour(int index) {
    // Okabe & Ito's palette, ordered so the first colours differ most on white; its yellow, faint on
    // white, comes eighth. Then four of Paul Tol's darker colours (wine, indigo, olive, grey), so an
    // experiment's ten methods get ten colours before any repeats.
    static const ChartColour palette[] = {{0x00, 0x72, 0xB2}, {0xD5, 0x5E, 0x00}, {0x00, 0x9E, 0x73},
                                          {0xCC, 0x79, 0xA7}, {0xE6, 0x9F, 0x00}, {0x56, 0xB4, 0xE9},
                                          {0x00, 0x00, 0x00}, {0xF0, 0xE4, 0x42}, {0x88, 0x22, 0x55},
                                          {0x33, 0x22, 0x88}, {0x99, 0x99, 0x33}, {0x77, 0x77, 0x77}};
    const int n = static_cast<int>(sizeof palette / sizeof palette[0]);
    return palette[((index % n) + n) % n];
}

static void validateChart(const LineChart& chart) {
    if (chart.width < 160 || chart.height < 120)
        throw Error("line chart '" + chart.title + "': size " + std::to_string(chart.width) + "x" +
                    std::to_string(chart.height) + " is too small (at least 160x120)");
    for (const auto& s : chart.series) {
        if (s.x.size() != s.y.size())
            throw Error("line chart '" + chart.title + "': series '" + s.label + "' has " +
                        std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) + " y values");
        const bool hasBand = !s.yLow.empty() || !s.yHigh.empty();
        if (hasBand && (s.yLow.size() != s.x.size() || s.yHigh.size() != s.x.size()))
            throw Error("line chart '" + chart.title + "': series '" + s.label +
                        "' band needs as many low and high values as x values");
    }
}

#ifdef COALESCE_HAVE_OPENCV
namespace {

using chart::PointD;
using chart::RectD;

struct TextStyle {
    double scale;
    int thickness;
};
constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr TextStyle kTickText{0.45, 1};
constexpr TextStyle kLabelText{0.52, 1};
constexpr TextStyle kLegendText{0.48, 1};
constexpr TextStyle kTitleText{0.7, 1};
const cv::Scalar kWhite(255, 255, 255);
const cv::Scalar kTextColour(40, 40, 40);
const cv::Scalar kGridColour(228, 228, 228);
const cv::Scalar kFrameColour(120, 120, 120);
constexpr int kPad = 14;          // outer margin
constexpr int kTickLength = 5;
constexpr int kShift = 4;         // OpenCV fractional bits: sub-pixel positions keep AA lines smooth
constexpr double kSubPixel = 1 << kShift;
constexpr double kBandAlpha = 0.18;

// Hershey fonts are ASCII only: spell out the few non-ASCII characters reports use.
std::string asciiOnly(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += text[i++];
            continue;
        }
        const std::string rest = text.substr(i, 3);
        if (rest.compare(0, 2, "\xC2\xB1") == 0) out += "+/-", i += 2;
        else if (rest.compare(0, 2, "\xC3\x97") == 0) out += "x", i += 2;
        else if (rest == "\xE2\x80\x94" || rest == "\xE2\x80\x93") out += "-", i += 3;
        else {
            out += '?';
            ++i;
            while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
        }
    }
    return out;
}

cv::Size textSize(const std::string& text, TextStyle style) {
    int baseline = 0;
    return cv::getTextSize(text, kFont, style.scale, style.thickness, &baseline);
}

// origin: left end of the text's baseline.
void drawText(cv::Mat& image, const std::string& text, cv::Point origin, TextStyle style,
              const cv::Scalar& colour = kTextColour) {
    cv::putText(image, text, origin, kFont, style.scale, colour, style.thickness, cv::LINE_AA);
}

cv::Scalar toScalar(ChartColour c) { return cv::Scalar(c.r, c.g, c.b); }  // the canvas is RGB

cv::Point toFixed(const PointD& p) {
    return cv::Point(static_cast<int>(std::lround(p.x * kSubPixel)), static_cast<int>(std::lround(p.y * kSubPixel)));
}

// Data → pixel coordinates inside the plot rectangle (origin at its top-left corner).
struct Mapping {
    double width = 1, height = 1;
    double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
    bool logY = false;

    double px(double x) const { return (x - x0) / (x1 - x0) * width; }
    double py(double y) const {
        const double t = logY ? (std::log10(y) - std::log10(y0)) / (std::log10(y1) - std::log10(y0))
                              : (y - y0) / (y1 - y0);
        return height - t * height;
    }
};

// Values beyond this are treated like NaN: no metric is that large, and the axis span must stay finite.
constexpr double kLargestDrawable = 1e100;

bool drawableX(double x) { return std::isfinite(x) && std::fabs(x) < kLargestDrawable; }

// A y value that can be drawn (finite, not absurd, positive on a log axis), else NaN.
double usable(double y, bool logY) {
    const bool ok = std::isfinite(y) && std::fabs(y) < kLargestDrawable && (!logY || y > 1 / kLargestDrawable);
    return ok ? y : std::numeric_limits<double>::quiet_NaN();
}

struct DataRange {
    double xLo = std::numeric_limits<double>::infinity(), xHi = -xLo;
    double yLo = xLo, yHi = -xLo;
    bool any = false;
    void addX(double x) { xLo = std::min(xLo, x), xHi = std::max(xHi, x); }
    void addY(double y) {
        if (std::isnan(y)) return;
        yLo = std::min(yLo, y), yHi = std::max(yHi, y);
        any = true;
    }
};

DataRange dataRange(const LineChart& chart) {
    DataRange range;
    for (const auto& s : chart.series) {
        const bool band = !s.yLow.empty();
        for (size_t i = 0; i < s.x.size(); ++i) {
            if (!drawableX(s.x[i])) continue;
            const double y = usable(s.y[i], chart.logY);
            if (std::isnan(y)) continue;
            range.addX(s.x[i]);
            range.addY(y);
            if (band) {
                range.addY(usable(s.yLow[i], chart.logY));
                range.addY(usable(s.yHigh[i], chart.logY));
            }
        }
    }
    if (!range.any) {  // an empty frame with a sensible axis
        range.xLo = 0, range.xHi = 1;
        range.yLo = chart.logY ? 1 : 0, range.yHi = chart.logY ? 10 : 1;
    }
    chart::widenDegenerateRange(range.xLo, range.xHi, false);
    chart::widenDegenerateRange(range.yLo, range.yHi, chart.logY);
    return range;
}

chart::AxisTicks yAxis(const DataRange& range, bool logY, double plotHeight) {
    const int target = std::clamp(static_cast<int>(plotHeight / 70), 3, 10);
    if (!logY) return chart::linearTicks(range.yLo, range.yHi, target, true);
    // A little room above and below in log space so extreme points do not sit on the frame.
    const double pad = std::pow(10.0, 0.04 * std::log10(range.yHi / range.yLo));
    return chart::logTicks(range.yLo / pad, range.yHi * pad, target);
}

// The contiguous drawable stretches of a series as pixel polylines (a NaN ends a stretch).
std::vector<std::vector<PointD>> seriesPolylines(const LineSeries& s, const Mapping& map) {
    std::vector<std::vector<PointD>> runs(1);
    for (size_t i = 0; i < s.x.size(); ++i) {
        const double y = usable(s.y[i], map.logY);
        if (!drawableX(s.x[i]) || std::isnan(y)) {
            if (!runs.back().empty()) runs.emplace_back();
            continue;
        }
        runs.back().push_back({map.px(s.x[i]), map.py(y)});
    }
    if (runs.back().empty()) runs.pop_back();
    return runs;
}

// Band polygons (upper edge forward, lower edge back) for each stretch where the band is defined. On a
// log axis a non-positive lower bound means "below the axis": it is drawn at the bottom edge.
std::vector<std::vector<PointD>> bandPolygons(const LineSeries& s, const Mapping& map) {
    std::vector<std::vector<PointD>> polygons;
    std::vector<PointD> upper, lower;
    auto flush = [&] {
        if (upper.size() >= 2) {
            std::vector<PointD> polygon = upper;
            polygon.insert(polygon.end(), lower.rbegin(), lower.rend());
            polygons.push_back(std::move(polygon));
        }
        upper.clear();
        lower.clear();
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
        // Only where the line itself is drawn (as the axis range assumes), so a band never floats alone.
        const double y = usable(s.y[i], map.logY);
        const double high = usable(s.yHigh[i], map.logY);
        double low = s.yLow[i];
        if (map.logY && std::isfinite(low) && low <= 1 / kLargestDrawable) low = map.y0;
        low = usable(low, map.logY);
        if (!drawableX(s.x[i]) || std::isnan(y) || std::isnan(high) || std::isnan(low)) {
            flush();
            continue;
        }
        upper.push_back({map.px(s.x[i]), map.py(high)});
        lower.push_back({map.px(s.x[i]), map.py(low)});
    }
    flush();
    return polygons;
}

void drawSeries(cv::Mat& plot, const LineChart& chart, const Mapping& map,
                std::vector<std::vector<PointD>>* drawnLines) {
    // Slightly larger than the plot so 2 px lines on the frame keep their full width; the plot Mat
    // itself bounds every stroke.
    const RectD clip{-3, -3, map.width + 3, map.height + 3};
    for (size_t k = 0; k < chart.series.size(); ++k) {
        const auto& s = chart.series[k];
        if (s.yLow.empty()) continue;
        const cv::Scalar colour = toScalar(s.colour.value_or(chartPaletteColour(static_cast<int>(k))));
        std::vector<std::vector<cv::Point>> fills;
        for (const auto& polygon : bandPolygons(s, map)) {
            auto clipped = chart::clipPolygon(polygon, clip);
            if (clipped.empty()) continue;
            fills.emplace_back();
            for (const auto& p : clipped) fills.back().push_back(toFixed(p));
        }
        if (fills.empty()) continue;
        cv::Mat overlay = plot.clone();
        cv::fillPoly(overlay, fills, colour, cv::LINE_AA, kShift);
        cv::addWeighted(overlay, kBandAlpha, plot, 1 - kBandAlpha, 0, plot);
    }
    for (size_t k = 0; k < chart.series.size(); ++k) {
        const auto& s = chart.series[k];
        const cv::Scalar colour = toScalar(s.colour.value_or(chartPaletteColour(static_cast<int>(k))));
        const auto runs = seriesPolylines(s, map);
        size_t pointCount = 0;
        for (const auto& run : runs) pointCount += run.size();
        const bool markEveryPoint = pointCount <= 60;  // sparse evaluation curves: show where the data is
        for (const auto& run : runs) {
            std::vector<std::vector<cv::Point>> strokes;
            for (const auto& piece : chart::clipPolyline(run, clip)) {
                strokes.emplace_back();
                for (const auto& p : piece) strokes.back().push_back(toFixed(p));
                drawnLines->push_back(piece);
            }
            if (!strokes.empty()) cv::polylines(plot, strokes, false, colour, 2, cv::LINE_AA, kShift);
            if (markEveryPoint || run.size() == 1) {  // a lone point has no line to show it
                const int radius = run.size() == 1 ? 4 : 3;
                for (const auto& p : run) {
                    if (p.x < clip.left || p.x > clip.right || p.y < clip.top || p.y > clip.bottom) continue;
                    cv::circle(plot, toFixed(p), radius * (1 << kShift), colour, cv::FILLED, cv::LINE_AA, kShift);
                    if (run.size() == 1) drawnLines->push_back({p, p});
                }
            }
        }
    }
}

// Text rotated 90° counter-clockwise (a y-axis label), centred vertically on centreY.
void drawVerticalText(cv::Mat& canvas, const std::string& text, int left, int centreY, TextStyle style) {
    int baseline = 0;
    const cv::Size size = cv::getTextSize(text, kFont, style.scale, style.thickness, &baseline);
    cv::Mat strip(size.height + baseline + 4, size.width + 4, CV_8UC3, kWhite);
    drawText(strip, text, cv::Point(2, size.height + 2), style);
    cv::Mat rotated;
    cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
    int top = centreY - rotated.rows / 2;
    // A label longer than the chart is cut rather than drawn out of bounds.
    cv::Rect target(left, top, rotated.cols, rotated.rows);
    cv::Rect inside = target & cv::Rect(0, 0, canvas.cols, canvas.rows);
    if (inside.empty()) return;
    rotated(cv::Rect(inside.x - target.x, inside.y - target.y, inside.width, inside.height)).copyTo(canvas(inside));
}

// The legend goes into whichever plot corner covers the fewest drawn line points.
cv::Rect legendPlacement(const cv::Size& legend, const cv::Rect& plotRect,
                         const std::vector<std::vector<PointD>>& drawnLines) {
    const int inset = 10;
    const cv::Point corners[4] = {
        {plotRect.br().x - inset - legend.width, plotRect.y + inset},                       // top right
        {plotRect.x + inset, plotRect.y + inset},                                           // top left
        {plotRect.br().x - inset - legend.width, plotRect.br().y - inset - legend.height},  // bottom right
        {plotRect.x + inset, plotRect.br().y - inset - legend.height},                      // bottom left
    };
    cv::Rect best;
    long bestCovered = std::numeric_limits<long>::max();
    for (const auto& corner : corners) {
        // A margin around the box: a line just outside it still looks crowded.
        const cv::Rect candidate(corner - cv::Point(12, 12), legend + cv::Size(24, 24));
        long covered = 0;
        for (const auto& line : drawnLines)
            for (size_t i = 0; i + 1 < line.size() || (i == 0 && line.size() == 1); ++i) {
                const PointD a = line[i], b = line.size() == 1 ? a : line[i + 1];
                for (int t = 0; t <= 10; ++t) {  // sample along the segment
                    const double x = plotRect.x + a.x + (b.x - a.x) * t / 10.0;
                    const double y = plotRect.y + a.y + (b.y - a.y) * t / 10.0;
                    covered += candidate.contains(cv::Point(static_cast<int>(x), static_cast<int>(y)));
                }
            }
        if (covered < bestCovered) bestCovered = covered, best = cv::Rect(corner, legend);
    }
    return best;
}

void drawLegend(cv::Mat& canvas, const LineChart& chart, const cv::Rect& plotRect,
                const std::vector<std::vector<PointD>>& drawnLines) {
    struct Entry {
        std::string label;
        cv::Scalar colour;
        bool band;
    };
    std::vector<Entry> entries;
    int textWidth = 0, textHeight = 0;
    for (size_t k = 0; k < chart.series.size(); ++k) {
        const auto& s = chart.series[k];
        if (s.label.empty()) continue;
        const std::string label = asciiOnly(s.label);
        const cv::Size size = textSize(label, kLegendText);
        textWidth = std::max(textWidth, size.width);
        textHeight = std::max(textHeight, size.height);
        entries.push_back({label, toScalar(s.colour.value_or(chartPaletteColour(static_cast<int>(k)))), !s.yLow.empty()});
    }
    if (entries.empty()) return;
    const int swatch = 26, rowHeight = textHeight + 10, padding = 9;
    const cv::Size box(padding + swatch + 8 + textWidth + padding,
                       padding + rowHeight * static_cast<int>(entries.size()) - 10 + padding + 2);
    const cv::Rect rect = legendPlacement(box, plotRect, drawnLines);
    cv::rectangle(canvas, rect, kWhite, cv::FILLED);
    cv::rectangle(canvas, rect, cv::Scalar(200, 200, 200), 1);
    for (size_t i = 0; i < entries.size(); ++i) {
        const int baselineY = rect.y + padding + textHeight + static_cast<int>(i) * rowHeight;
        const int midY = baselineY - textHeight / 2;
        const cv::Point lineStart(rect.x + padding, midY), lineEnd(rect.x + padding + swatch, midY);
        if (entries[i].band) {  // the band's tint behind the line, as in the plot
            cv::Mat area = canvas(cv::Rect(lineStart.x, midY - 6, swatch, 13));
            cv::Mat tint(area.size(), area.type(), entries[i].colour);
            cv::addWeighted(tint, kBandAlpha, area, 1 - kBandAlpha, 0, area);
        }
        cv::line(canvas, lineStart, lineEnd, entries[i].colour, 2, cv::LINE_AA);
        drawText(canvas, entries[i].label, cv::Point(lineEnd.x + 8, baselineY), kLegendText);
    }
}

cv::Mat renderWithOpenCv(const LineChart& chart) {
    cv::Mat canvas(chart.height, chart.width, CV_8UC3, kWhite);
    const std::string title = asciiOnly(chart.title), xLabel = asciiOnly(chart.xLabel),
                      yLabel = asciiOnly(chart.yLabel);
    const int tickTextHeight = textSize("0123456789", kTickText).height;
    const int labelTextHeight = textSize("Xg", kLabelText).height;

    // Vertical layout first: the y ticks (whose labels set the left margin) depend on the plot height.
    const int top = kPad + (title.empty() ? 4 : textSize(title, kTitleText).height + 16);
    const int bottom = kPad + kTickLength + 8 + tickTextHeight + (xLabel.empty() ? 0 : 14 + labelTextHeight);
    const DataRange range = dataRange(chart);
    const chart::AxisTicks yTicks = yAxis(range, chart.logY, chart.height - top - bottom);
    std::vector<std::string> yTickLabels;
    int yTickWidth = 0;
    for (double v : yTicks.values) {
        yTickLabels.push_back(chart::formatTick(v, yTicks.step));
        yTickWidth = std::max(yTickWidth, textSize(yTickLabels.back(), kTickText).width);
    }
    const int left = kPad + (yLabel.empty() ? 0 : labelTextHeight + 14) + yTickWidth + 6 + kTickLength;

    const int xTarget = std::clamp((chart.width - left - kPad) / 110, 2, 10);
    const chart::AxisTicks xTicks = chart::linearTicks(range.xLo, range.xHi, xTarget, false);
    const std::string lastXLabel = xTicks.values.empty() ? "" : chart::formatTick(xTicks.values.back(), xTicks.step);
    const int right = kPad + std::max(8, textSize(lastXLabel, kTickText).width / 2);
    const cv::Rect plotRect(left, top, std::max(10, chart.width - left - right), std::max(10, chart.height - top - bottom));

    Mapping map;
    map.width = plotRect.width;
    map.height = plotRect.height;
    map.x0 = xTicks.lo, map.x1 = xTicks.hi;
    map.y0 = yTicks.lo, map.y1 = yTicks.hi;
    map.logY = chart.logY;

    // Grid, then data (clipped to the plot), then frame, ticks and text on top.
    for (double v : yTicks.values) {
        const int y = plotRect.y + static_cast<int>(std::lround(map.py(v)));
        cv::line(canvas, {plotRect.x, y}, {plotRect.br().x - 1, y}, kGridColour, 1);
    }
    for (double v : xTicks.values) {
        const int x = plotRect.x + static_cast<int>(std::lround(map.px(v)));
        cv::line(canvas, {x, plotRect.y}, {x, plotRect.br().y - 1}, kGridColour, 1);
    }
    cv::Mat plot = canvas(plotRect);
    std::vector<std::vector<PointD>> drawnLines;
    drawSeries(plot, chart, map, &drawnLines);
    cv::rectangle(canvas, plotRect, kFrameColour, 1);

    for (size_t i = 0; i < yTicks.values.size(); ++i) {
        const int y = plotRect.y + static_cast<int>(std::lround(map.py(yTicks.values[i])));
        cv::line(canvas, {plotRect.x - kTickLength, y}, {plotRect.x, y}, kFrameColour, 1);
        const cv::Size size = textSize(yTickLabels[i], kTickText);
        drawText(canvas, yTickLabels[i], {plotRect.x - kTickLength - 6 - size.width, y + size.height / 2}, kTickText);
    }
    for (double v : xTicks.values) {
        const int x = plotRect.x + static_cast<int>(std::lround(map.px(v)));
        cv::line(canvas, {x, plotRect.br().y}, {x, plotRect.br().y + kTickLength}, kFrameColour, 1);
        const std::string label = chart::formatTick(v, xTicks.step);
        const cv::Size size = textSize(label, kTickText);
        drawText(canvas, label, {x - size.width / 2, plotRect.br().y + kTickLength + 6 + size.height}, kTickText);
    }
    if (!xLabel.empty()) {
        const cv::Size size = textSize(xLabel, kLabelText);
        drawText(canvas, xLabel, {plotRect.x + (plotRect.width - size.width) / 2, chart.height - kPad}, kLabelText);
    }
    if (!yLabel.empty()) drawVerticalText(canvas, yLabel, kPad - 2, plotRect.y + plotRect.height / 2, kLabelText);
    if (!title.empty()) {
        const cv::Size size = textSize(title, kTitleText);
        drawText(canvas, title, {(chart.width - size.width) / 2, kPad + size.height}, kTitleText, cv::Scalar(20, 20, 20));
    }
    if (!range.any) {
        const std::string message = "no data";
        const cv::Size size = textSize(message, kLabelText);
        drawText(canvas, message, {plotRect.x + (plotRect.width - size.width) / 2, plotRect.y + plotRect.height / 2},
                 kLabelText, cv::Scalar(150, 150, 150));
    }
    drawLegend(canvas, chart, plotRect, drawnLines);
    return canvas;
}

}  // namespace

ImageU8 renderLineChart(const LineChart& chart) {
    validateChart(chart);
    const cv::Mat canvas = renderWithOpenCv(chart);
    ImageU8 image;
    image.width = canvas.cols;
    image.height = canvas.rows;
    image.channels = 3;
    image.pixels.assign(canvas.data, canvas.data + canvas.total() * canvas.channels());
    return image;
}

#else

ImageU8 renderLineChart(const LineChart& chart) {
    validateChart(chart);
    throw Error("line chart '" + chart.title + "': this build of Coalesce cannot draw charts (built without OpenCV)");
}

#endif

}  // namespace coalesce
