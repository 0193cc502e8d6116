#include "panels/radius_slider.h"

#include <algorithm>
#include <cmath>


namespace radius_slider {

int toPosition(double radius) {
    const double lo = std::log10(kSliderMin), hi = std::log10(kSliderMax);
    const double t = (std::log10(std::clamp(radius, kSliderMin, kSliderMax)) - lo) / (hi - lo);
    return int(std::lround(t * kSteps));
}

double fromPosition(int position) {
    const double lo = std::log10(kSliderMin), hi = std::log10(kSliderMax);
    const double v = std::pow(10.0, lo + (hi - lo) * double(std::clamp(position, 0, kSteps)) / kSteps);
    // Round to 3 significant digits so values typed back look like what the slider shows.
    const double magnitude = std::pow(10.0, std::floor(std::log10(v)) - 2);
    return std::round(v / magnitude) * magnitude;
}

}  // namespace radius_slider
