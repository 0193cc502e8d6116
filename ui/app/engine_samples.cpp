// The UI's one heavy engine translation unit: loads datasets through the engine's data module so the
// preview shows exactly what a job would use.
#include "app/engine_samples.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "core/error.h"
#include "core/tensor_image.h"
#include "data/dataset.h"
#include "io/model_files.h"

namespace {
QVector<QPointF> toPoints(const torch::Tensor& samples) {
    QVector<QPointF> out;
    const auto pts = samples.to(torch::kCPU, torch::kFloat64).contiguous();
    const auto a = pts.accessor<double, 2>();
    out.reserve(int(pts.size(0)));
    for (int64_t i = 0; i < pts.size(0); ++i) out << QPointF(a[i][0], a[i][1]);
    return out;
}

QImage toImage(const coalesce::ImageU8& image) {
    const QImage::Format format = image.channels == 3 ? QImage::Format_RGB888 : QImage::Format_Grayscale8;
    return QImage(image.pixels.data(), image.width, image.height, image.width * image.channels, format).copy();
}
}  // namespace

EngineSamples previewLocalData(const QString& spec, int count, qint64 seed) {
    EngineSamples out;
    try {
        torch::NoGradGuard noGrad;
        const coalesce::Dataset all = coalesce::loadDataset(spec.toStdString());
        if (count > all.size())
            throw coalesce::Error(spec.toStdString() + ": asked for n = " + std::to_string(count) + " samples, the data has only " +
                                  std::to_string(all.size()));
        const coalesce::Dataset chosen = coalesce::kShotSubset(all, count, static_cast<uint64_t>(std::max<qint64>(seed, 0)));
        out.description = QStringLiteral("%1 · %2 of %3").arg(QString::fromStdString(chosen.name)).arg(chosen.size()).arg(all.size());
        if (chosen.samples.dim() == 4) {
            const int64_t shown = std::min<int64_t>(chosen.size(), 100);
            out.grid = toImage(coalesce::tensorToGrid(chosen.samples.narrow(0, 0, shown)));
        } else if (chosen.samples.dim() == 2 && chosen.samples.size(1) >= 2) {
            out.points = toPoints(chosen.samples);
            // A small scatter rendered here, so the dock needs no plot widget for it.
            QImage img(240, 240, QImage::Format_RGB32);
            img.fill(Qt::white);
            double lo = 1e300, hi = -1e300;
            for (const QPointF& p : out.points) {
                lo = std::min({lo, p.x(), p.y()});
                hi = std::max({hi, p.x(), p.y()});
            }
            const double span = std::max(hi - lo, 1e-9) * 1.2, mid = (hi + lo) / 2;
            for (const QPointF& p : out.points) {
                const int x = int((p.x() - mid) / span * 240 + 120), y = int(120 - (p.y() - mid) / span * 240);
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx)
                        if (x + dx >= 0 && x + dx < 240 && y + dy >= 0 && y + dy < 240) img.setPixel(x + dx, y + dy, qRgb(180, 40, 40));
            }
            out.grid = img;
        } else {
            throw coalesce::Error(spec.toStdString() + ": unexpected sample shape for a preview");
        }
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

EngineSamples sampleGeneratorPoints(const QString& generatorFile, int count, quint64 seed) {
    EngineSamples out;
    try {
        torch::NoGradGuard noGrad;
        coalesce::Generator g = coalesce::loadGenerator(generatorFile.toStdString());
        if (g->spec().isImage())
            throw coalesce::Error(generatorFile.toStdString() + ": an image generator, not a 2-D toy generator");
        g->eval();
        auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
        const torch::Tensor z = g->sampleLatent(count, gen);
        out.points = toPoints(g->forward(z));
        out.description = QString::fromStdString(g->spec().describe());
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}

EngineSamples loadDataPoints(const QString& spec, int maxCount) {
    EngineSamples out;
    try {
        torch::NoGradGuard noGrad;
        const coalesce::Dataset data = coalesce::loadDataset(spec.toStdString());
        if (data.samples.dim() != 2 || data.samples.size(1) < 2)
            throw coalesce::Error(spec.toStdString() + ": not 2-D point data");
        out.points = toPoints(data.samples.narrow(0, 0, std::min<int64_t>(maxCount, data.size())));
        out.description = QString::fromStdString(data.name);
    } catch (const std::exception& e) {
        out.error = QString::fromUtf8(e.what());
    }
    return out;
}
