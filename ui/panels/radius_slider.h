// Logarithmic mapping between a QSlider's integer positions and a trust radius η in
// [kMinRadius, kMaxRadius]: radii span several decades, and equal slider travel should mean an equal
// *factor* of change.
#pragma once

namespace radius_slider {
constexpr int kSteps = 1000;
int toPosition(double radius);
double fromPosition(int position);
}  // namespace radius_slider
