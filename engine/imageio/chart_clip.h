// Clipping of chart geometry to the plot rectangle, in double precision, before anything is rounded
// to pixels: a point far outside the axes (a diverged run, log of a tiny value) must neither overflow
// OpenCV's integer coordinates nor bend the visible part of a line or band. Pure C++.
#pragma once
#include <vector>

namespace coalesce::chart {

struct PointD {
    double x = 0, y = 0;
};
struct RectD {
    double left = 0, top = 0, right = 0, bottom = 0;  // top < bottom (image coordinates)
};

// Liang–Barsky: clips segment a–b to rect in place; false if nothing of it is inside.
bool clipSegment(PointD& a, PointD& b, const RectD& rect);

// Splits a polyline into the pieces that lie inside rect (each with >= 2 points).
std::vector<std::vector<PointD>> clipPolyline(const std::vector<PointD>& line, const RectD& rect);

// Sutherland–Hodgman: the part of a (possibly concave) polygon inside the convex rect. Empty if none.
std::vector<PointD> clipPolygon(const std::vector<PointD>& polygon, const RectD& rect);

}  // namespace coalesce::chart
