#include "plots/plot_theme.h"

#include "plots/qcustomplot_include.h"

PlotTheme PlotTheme::fromPalette(const QPalette& palette) {
    PlotTheme t;
    t.background = palette.color(QPalette::Base);
    t.foreground = palette.color(QPalette::Text);
    t.dark = t.background.lightness() < 128;
    t.grid = t.dark ? QColor(255, 255, 255, 28) : QColor(0, 0, 0, 24);
    t.subGrid = t.dark ? QColor(255, 255, 255, 12) : QColor(0, 0, 0, 10);
    QColor lb = t.background;
    lb.setAlpha(215);
    t.legendBackground = lb;
    return t;
}

void PlotTheme::applyTo(QCustomPlot* plot) const {
    plot->setBackground(background);
    QColor axisColor = foreground;
    axisColor.setAlpha(160);
    for (QCPAxis* axis : plot->axisRect()->axes()) {
        axis->setBasePen(QPen(axisColor, 1));
        axis->setTickPen(QPen(axisColor, 1));
        axis->setSubTickPen(QPen(axisColor, 1));
        axis->setTickLabelColor(foreground);
        axis->setLabelColor(foreground);
        axis->grid()->setPen(QPen(grid, 1, Qt::SolidLine));
        axis->grid()->setSubGridPen(QPen(subGrid, 1, Qt::DotLine));
        axis->grid()->setZeroLinePen(QPen(grid, 1));
    }
    plot->legend->setBrush(legendBackground);
    plot->legend->setBorderPen(QPen(QColor(foreground.red(), foreground.green(), foreground.blue(), 40)));
    plot->legend->setTextColor(foreground);
    for (int i = 0; i < plot->plotLayout()->elementCount(); ++i)
        if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->elementAt(i))) title->setTextColor(foreground);
}
