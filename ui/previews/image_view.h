// Shows one image (a sample grid) as large as fits, with crisp pixels: integer nearest-neighbour
// upscaling for small grids, smooth downscaling otherwise. A caption line sits under the image.
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
    QString caption_;
    QString placeholder_;
};
