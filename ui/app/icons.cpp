#include "app/icons.h"

#include <QApplication>
#include <QHash>
#include <QPainter>
#include <QPalette>

namespace icons {

namespace {
QHash<QString, QIcon>& cache() {
    static QHash<QString, QIcon> c;
    return c;
}

QPixmap tinted(const QIcon& source, int size, const QColor& color) {
    QPixmap pm = source.pixmap(size, size);
    if (pm.isNull()) return pm;
    QPainter p(&pm);
    p.setCompositionMode(QPainter::CompositionMode_SourceIn);
    p.fillRect(pm.rect(), color);
    return pm;
}
}  // namespace

QIcon get(const QString& name) {
    auto it = cache().constFind(name);
    if (it != cache().constEnd()) return *it;
    const QIcon source(QStringLiteral(":/icons/%1.svg").arg(name));
    QIcon icon;
    if (!source.isNull()) {
        const QPalette pal = QApplication::palette();
        for (int size : {16, 20, 24, 32, 48}) {
            icon.addPixmap(tinted(source, size, pal.color(QPalette::Active, QPalette::ButtonText)), QIcon::Normal);
            icon.addPixmap(tinted(source, size, pal.color(QPalette::Disabled, QPalette::ButtonText)), QIcon::Disabled);
        }
    }
    cache().insert(name, icon);
    return icon;
}

QIcon appIcon() { return QIcon(QStringLiteral(":/icons/coalesce.svg")); }

void clearCache() { cache().clear(); }

}  // namespace icons
