// Shows one image (a sample grid) as large as fits, with crisp pixels: integer nearest-neighbour
// upscaling for small grids (a fractional factor when the whole one would waste >15% of the room:
// nearest-neighbour to the next whole factor, then smooth down, so pixels stay even), smooth
// downscaling otherwise. A caption line sits under the image.
#pragma once
#include <QImage>
#include <QWidget>

class ImageView : public QWidget {
    Q_OBJECT
public:
    explicit ImageView(QWidget* parent = nullptr);
    void setImage(const QImage& image);
    QImage image() const { return image_; }
    void setCaption(const QString& caption);
    void setPlaceholder(const QString& text);  // shown while there is no image
    QSize sizeHint() const override { return {360, 360}; }
    QSize minimumSizeHint() const override { return {120, 120}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QImage image_;
    QImage enlarged_;  // image_ blown up by a whole factor (cache for fractional upscaling)
    QString caption_;
    QString placeholder_;
};
