// Toolbar/menu icons: monochrome SVG line drawings from resources/icons/, tinted with the current
// palette's text colour so they read on the light and the dark theme. appIcon() is the coloured logo.
#pragma once
#include <QIcon>

namespace icons {
QIcon get(const QString& name);  // e.g. "open", "start"; empty icon if missing
QIcon appIcon();
void clearCache();               // after a theme change
}  // namespace icons
