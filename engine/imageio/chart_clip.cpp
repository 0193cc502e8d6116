#include "imageio/chart_clip.h"

#include <functional>

namespace coalesce::chart {

bool clipSegment(PointD& a, PointD& b, const RectD& rect) {
    const double dx = b.x - a.x, dy = b.y - a.y;
    double t0 = 0, t1 = 1;
    // Each edge as p·t <= q: a point at parameter t is inside when it holds for all four.
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {a.x - rect.left, rect.right - a.x, a.y - rect.top, rect.bottom - a.y};
    for (int i = 0; i < 4; ++i) {
        if (p[i] == 0) {
            if (q[i] < 0) return false;  // parallel to this edge and outside it
            continue;
        }
        const double t = q[i] / p[i];
        if (p[i] < 0) {
            if (t > t1) return false;
            if (t > t0) t0 = t;
        } else {
            if (t < t0) return false;
            if (t < t1) t1 = t;
        }
    }
    const PointD start{a.x + t0 * dx, a.y + t0 * dy};
    const PointD end{a.x + t1 * dx, a.y + t1 * dy};
    a = start;
    b = end;
    return true;
}

std::vector<std::vector<PointD>> clipPolyline(const std::vector<PointD>& line, const RectD& rect) {
    std::vector<std::vector<PointD>> pieces;
    std::vector<PointD> current;
    auto flush = [&] {
        if (current.size() >= 2) pieces.push_back(current);
        current.clear();
    };
    for (size_t i = 0; i + 1 < line.size(); ++i) {
        PointD a = line[i], b = line[i + 1];
        if (!clipSegment(a, b, rect)) {
            flush();
            continue;
        }
        // A segment that had to be cut at its start begins a new piece.
        const bool continues = !current.empty() && current.back().x == a.x && current.back().y == a.y;
        if (!continues) {
            flush();
            current.push_back(a);
        }
        current.push_back(b);
        const bool cutAtEnd = b.x != line[i + 1].x || b.y != line[i + 1].y;
        if (cutAtEnd) flush();
    }
    flush();
    return pieces;
}

std::vector<PointD> clipPolygon(const std::vector<PointD>& polygon, const RectD& rect) {
    using Inside = std::function<bool(const PointD&)>;
    using Cross = std::function<PointD(const PointD&, const PointD&)>;
    auto atX = [](const PointD& a, const PointD& b, double x) {
        return PointD{x, a.y + (b.y - a.y) * (x - a.x) / (b.x - a.x)};
    };
    auto atY = [](const PointD& a, const PointD& b, double y) {
        return PointD{a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y), y};
    };
    const std::pair<Inside, Cross> edges[4] = {
        {[&](const PointD& p) { return p.x >= rect.left; }, [&](const PointD& a, const PointD& b) { return atX(a, b, rect.left); }},
        {[&](const PointD& p) { return p.x <= rect.right; }, [&](const PointD& a, const PointD& b) { return atX(a, b, rect.right); }},
        {[&](const PointD& p) { return p.y >= rect.top; }, [&](const PointD& a, const PointD& b) { return atY(a, b, rect.top); }},
        {[&](const PointD& p) { return p.y <= rect.bottom; }, [&](const PointD& a, const PointD& b) { return atY(a, b, rect.bottom); }},
    };
    std::vector<PointD> output = polygon;
    for (const auto& [inside, cross] : edges) {
        if (output.empty()) break;
        std::vector<PointD> input;
        input.swap(output);
        PointD previous = input.back();
        for (const PointD& point : input) {
            if (inside(point)) {
                if (!inside(previous)) output.push_back(cross(previous, point));
                output.push_back(point);
            } else if (inside(previous)) {
                output.push_back(cross(previous, point));
            }
            previous = point;
        }
    }
    return output.size() >= 3 ? output : std::vector<PointD>{};
}

}  // namespace coalesce::chart
