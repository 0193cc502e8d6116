#include "app/theme.h"

#include <QApplication>
#include <QPainter>
#include <QProxyStyle>
#include <QStyle>
#include <QStyleFactory>
#include <QStyleOption>

namespace {

// Fusion draws check box and radio button outlines a shade darker than the window, which on a dark
// palette is the colour of the field itself: boxes disappeared (only the tick showed). On dark
// palettes this style draws a visible outline over Fusion's.
class IndicatorOutlineStyle : public QProxyStyle {
public:
    using QProxyStyle::QProxyStyle;
    void drawPrimitive(PrimitiveElement element, const QStyleOption* option, QPainter* painter, const QWidget* widget) const override {
        QProxyStyle::drawPrimitive(element, option, painter, widget);
        if (!isDarkPalette(option->palette)) return;
        if (element != PE_IndicatorCheckBox && element != PE_IndicatorItemViewItemCheck && element != PE_IndicatorRadioButton) return;
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing, true);
        painter->setBrush(Qt::NoBrush);
        QColor outline(0x7a, 0x7f, 0x87);
        if (!(option->state & State_Enabled)) outline.setAlpha(110);
        painter->setPen(QPen(outline, 1));
        const QRect r = option->rect;
        if (element == PE_IndicatorRadioButton) {
            // Fusion's circle: centre one pixel right/down of the rect's, radius (w + (w+1)%2)/2 - 1.
            const QPointF centre = QPointF(r.center()) + QPointF(1, 1);
            const qreal radius = (r.width() + (r.width() + 1) % 2) / 2.0 - 1;
            painter->drawEllipse(centre, radius, radius);
        } else {
            painter->drawRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5));
        }
        painter->restore();
    }
};

QPalette& systemPalette() {
    static QPalette p;
    return p;
}

QPalette lightPalette() {
    QPalette p;
    const QColor window(0xf3, 0xf4, 0xf6), base(0xff, 0xff, 0xff), text(0x1f, 0x23, 0x28);
    const QColor button(0xfa, 0xfa, 0xfb), highlight(0x2f, 0x6f, 0xdd), mid(0xc9, 0xcd, 0xd3);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0xf6, 0xf7, 0xf9));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, QColor(0xff, 0xff, 0xf4));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x6b, 0x72, 0x80));
    p.setColor(QPalette::Link, highlight);
    p.setColor(QPalette::Light, Qt::white);
    p.setColor(QPalette::Midlight, QColor(0xe5, 0xe7, 0xeb));
    p.setColor(QPalette::Mid, mid);
    p.setColor(QPalette::Dark, QColor(0x9c, 0xa3, 0xaf));
    p.setColor(QPalette::Shadow, QColor(0x6b, 0x72, 0x80));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x9c, 0xa3, 0xaf));
    return p;
}

QPalette darkPalette() {
    QPalette p;
    const QColor window(0x2b, 0x2d, 0x31), base(0x1e, 0x1f, 0x22), text(0xdf, 0xe1, 0xe5);
    const QColor button(0x39, 0x3b, 0x40), highlight(0x35, 0x74, 0xf0);
    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, QColor(0x26, 0x28, 0x2c));
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, Qt::white);
    p.setColor(QPalette::Highlight, highlight);
    p.setColor(QPalette::HighlightedText, Qt::white);
    p.setColor(QPalette::ToolTipBase, QColor(0x3c, 0x3f, 0x45));
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, QColor(0x8c, 0x91, 0x9a));
    p.setColor(QPalette::Link, QColor(0x6c, 0x9c, 0xf5));
    p.setColor(QPalette::Light, QColor(0x4a, 0x4d, 0x52));
    p.setColor(QPalette::Midlight, QColor(0x40, 0x43, 0x48));
    p.setColor(QPalette::Mid, QColor(0x32, 0x34, 0x38));
    p.setColor(QPalette::Dark, QColor(0x18, 0x19, 0x1b));
    p.setColor(QPalette::Shadow, Qt::black);
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, QColor(0x6e, 0x72, 0x79));
    p.setColor(QPalette::Disabled, QPalette::Button, QColor(0x30, 0x32, 0x36));
    return p;
}

}  // namespace

QString themeName(Theme theme) {
    switch (theme) {
        case Theme::Light: return QStringLiteral("light");
        case Theme::Dark: return QStringLiteral("dark");
        case Theme::System: break;
    }
    return QStringLiteral("system");
}

Theme themeFromString(const QString& name) {
    if (name == QLatin1String("light")) return Theme::Light;
    if (name == QLatin1String("dark")) return Theme::Dark;
    return Theme::System;
}

void captureSystemPalette() {
    QApplication::setStyle(new IndicatorOutlineStyle(QStyleFactory::create(QStringLiteral("Fusion"))));
    systemPalette() = QApplication::style()->standardPalette();
}

bool isDarkPalette(const QPalette& palette) { return palette.color(QPalette::Window).lightness() < 128; }

void applyTheme(Theme theme) {
    QPalette p = theme == Theme::Dark ? darkPalette() : theme == Theme::Light ? lightPalette() : systemPalette();
    QApplication::setPalette(p);
    // A few touches the palette cannot express: card frames, tab bars and the curves toolbar.
    const QString border = isDarkPalette(p) ? QStringLiteral("#45484e") : QStringLiteral("#d6d9de");
    // Dark cards are a step lighter than the window, so their (darker) input fields stand out.
    const QString card = isDarkPalette(p) ? QStringLiteral("#34363b") : QStringLiteral("palette(base)");
    qApp->setStyleSheet(QStringLiteral(
                            "QFrame#sourceCard { border: 1px solid %1; border-radius: 6px; background: %2; }"
                            "QWidget#curvesToolbar { border-bottom: 1px solid %1; }"
                            "QMainWindow::separator { background: %1; width: 1px; height: 1px; }"
                            "QDockWidget::title { padding: 4px 6px; }")
                            .arg(border, card));
}
