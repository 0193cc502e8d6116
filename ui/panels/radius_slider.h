// Logarithmic mapping between a QSlider's integer positions and a trust radius η in
// [kSliderMin, kSliderMax]: radii span decades, and equal slider travel should mean an equal *factor*
// of change. The slider covers the four decades radii take in practice (W1 in pixels or features is
// ~0.1–50), one tick per decade; the spin box beside it takes the project's whole range.
#pragma once

namespace radius_slider {
constexpr int kSteps = 1000;
constexpr double kSliderMin = 0.01;
constexpr double kSliderMax = 100.0;
constexpr int kDecades = 4;  // ticks at 0.01, 0.1, 1, 10, 100
int toPosition(double radius);
double fromPosition(int position);
}  // namespace radius_slider
