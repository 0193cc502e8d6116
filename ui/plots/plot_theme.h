// Colours for QCustomPlot charts, derived from the application palette so charts follow the light or
// dark theme (QCustomPlot does not read the palette itself).
#pragma once
#include <QColor>
#include <QPalette>

class QCustomPlot;

struct PlotTheme {
    QColor background;
    QColor foreground;  // axes, tick labels, text
    QColor grid;
    QColor subGrid;
    QColor legendBackground;
    bool dark = false;

    static PlotTheme fromPalette(const QPalette& palette);
    void applyTo(QCustomPlot* plot) const;
};
