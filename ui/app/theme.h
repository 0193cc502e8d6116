// Light / dark / system appearance. Fusion style everywhere (identical on every desktop and in
// offscreen screenshots) with a hand-tuned palette; charts re-read the palette on PaletteChange.
// Qt 6.4 cannot query the desktop's colour scheme (QStyleHints::colorScheme is 6.5+), so "System"
// keeps the palette the platform gave the application at startup.
#pragma once
#include <QPalette>
#include <QString>

enum class Theme { System, Light, Dark };

QString themeName(Theme theme);       // "system", "light", "dark"
Theme themeFromString(const QString& name);
// Call once, before the first applyTheme: remembers the platform palette for Theme::System.
void captureSystemPalette();
void applyTheme(Theme theme);
bool isDarkPalette(const QPalette& palette);
