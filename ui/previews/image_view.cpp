#include "previews/image_view.h"

#include <QPainter>
#include <cmath>

ImageView::ImageView(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
    setAttribute(Qt::WA_OpaquePaintEvent);
}

void ImageView::setImage(const QImage& image) {
    image_ = image;
    enlarged_ = QImage();
    update();
}

void ImageView::setCaption(const QString& caption) {
    caption_ = caption;
    update();
}

void ImageView::setPlaceholder(const QString& text) {
    placeholder_ = text;
    update();
}

void ImageView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const QPalette pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    const int captionHeight = caption_.isEmpty() ? 0 : fontMetrics().height() + 8;
    const QRect area = rect().adjusted(8, 8, -8, -8 - captionHeight);
    if (image_.isNull()) {
        QColor c = pal.color(QPalette::Text);
        c.setAlpha(120);
        p.setPen(c);
        p.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
        return;
    }
    double scale = std::min(double(area.width()) / image_.width(), double(area.height()) / image_.height());
    // Generated grids are tiny (e.g. 274 px for 8×8 32-px samples): whole-number upscaling keeps
    // every pixel square; fall back to the exact factor when rounding down would waste >15% of it.
    if (scale >= 1.0 && std::floor(scale) >= 0.85 * scale) scale = std::floor(scale);
    const QSize size(std::max(1, int(image_.width() * scale)), std::max(1, int(image_.height() * scale)));
    const QRect target(area.center().x() - size.width() / 2, area.top() + (area.height() - size.height()) / 2,
                       size.width(), size.height());
    if (scale >= 1.0 && scale != std::floor(scale)) {
        // Nearest neighbour by a fractional factor makes some pixels a screen pixel wider than others
        // (visible stripes in 32-px samples): enlarge by the next whole factor, then smooth down.
        const int factor = int(std::ceil(scale));
        if (enlarged_.width() != image_.width() * factor)
            enlarged_ = image_.scaled(image_.size() * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation);
        p.setRenderHint(QPainter::SmoothPixmapTransform, true);
        p.drawImage(target, enlarged_);
    } else {
        p.setRenderHint(QPainter::SmoothPixmapTransform, scale < 1.0);  // nearest neighbour for whole factors
        p.drawImage(target, image_);
    }
    if (!caption_.isEmpty()) {
        p.setPen(pal.color(QPalette::Text));
        p.drawText(QRect(0, target.bottom() + 4, width(), captionHeight), Qt::AlignHCenter | Qt::AlignTop, caption_);
    }
}
