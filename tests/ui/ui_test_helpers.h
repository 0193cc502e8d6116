// Shared by the UI test suites: scratch files, tiny real generator files in the native layout, and a
// job catalog of fake jobs (tests/ui/fake_job.h) the MainWindow can run.
#pragma once
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>

#include "bridge/job_catalog.h"
#include "fake_job.h"
#include "models/networks.h"
#include "support/test_support.h"
#include "train/training_job.h"

namespace uitest {

inline QString scratch(const char* name) { return QString::fromStdString(coalesce::test::scratchDir(name)); }

inline bool writeFile(const QString& path, const QByteArray& bytes) {
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return false;
    return f.write(bytes) == bytes.size();
}

inline QJsonObject dcganArch(int latent = 100) {
    return {{"family", "dcgan32"}, {"channels", 1}, {"image_size", 32}, {"latent_dim", latent},
            {"generator_widths", QJsonArray{256, 64, 32}}, {"critic_widths", QJsonArray{32, 64, 128}}};
}

inline nlohmann::json toJson(const QJsonObject& o) {
    return nlohmann::json::parse(QJsonDocument(o).toJson(QJsonDocument::Compact).toStdString());
}

// A real generator of `arch` with fixed random weights, as the engine builds it.
inline coalesce::Generator makeGenerator(const QJsonObject& arch = dcganArch(), int seed = 1) {
    torch::manual_seed(seed);
    coalesce::Generator g(coalesce::ArchSpec::fromJson(toJson(arch)));
    g->eval();
    return g;
}

// The bytes of a real native generator file (what a run writes: io/checkpoint.h, CRC-checked), so that
// the workbench's full validation (the engine's loader) accepts it.
inline QByteArray generatorFileBytes(const QJsonObject& arch = dcganArch(), const QJsonObject& meta = {}, int seed = 1) {
    const QString tmp = scratch("generator_bytes") + "/g.coalesce";
    coalesce::writeGeneratorFile(tmp.toStdString(), makeGenerator(arch, seed), toJson(meta));
    QFile f(tmp);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

// `count` real generator files of `arch` (seeds 1..count) at DIR/models/source<i>/generator.coalesce, as
// a user's sources; empty if one could not be written.
inline QStringList writeSourceFiles(const QString& dir, const QJsonObject& arch, int count) {
    QStringList paths;
    for (int i = 0; i < count; ++i) {
        const QString path = QStringLiteral("%1/models/source%2/generator.coalesce").arg(dir).arg(i);
        if (!writeFile(path, generatorFileBytes(arch, {}, i + 1))) return {};
        paths << path;
    }
    return paths;
}

// Two classes of 12 small gray images each (an image folder dataset): enough for the feature net to
// train one epoch.
inline QString tinyImageFolder(const QString& dir) {
    for (int c = 0; c < 2; ++c) {
        QDir().mkpath(QStringLiteral("%1/class%2").arg(dir).arg(c));
        for (int i = 0; i < 12; ++i) {
            QImage image(28, 28, QImage::Format_Grayscale8);
            image.fill(0);
            for (int y = 0; y < 28; ++y)
                for (int x = 0; x < 28; ++x)
                    if ((c == 0 ? x : y) % (3 + i % 3) == 0) image.setPixel(x, y, qRgb(255, 255, 255));
            image.save(QStringLiteral("%1/class%2/%3.png").arg(dir).arg(c).arg(i));
        }
    }
    return dir;
}

// Kinds "fake" and "barycenter" (a fake standing in for the real one), configured by JSON:
// {"iterations", "metrics" (per iteration), "image_every", "sleep_us", "fail_at"}.
inline JobCatalog fakeCatalog() {
    JobCatalog c;
    c.kinds = [] {
        return QMap<QString, QString>{{"fake", "a scripted test job"}, {"barycenter", "fake barycenter"}};
    };
    c.create = [](const coalesce::Json& config) -> std::unique_ptr<coalesce::Job> {
        fake::FakeJobOptions o;
        o.iterations = config.value("iterations", 100LL);
        o.metricsPerIteration = config.value("metrics", 3);
        o.imageEvery = config.value("image_every", 0);
        o.sleepMicroseconds = config.value("sleep_us", 0);
        if (config.contains("fail_at")) {
            o.failAt = true;
            o.failIteration = config["fail_at"].get<long long>();
        }
        o.runDir = config.value("run_dir", std::string());
        return std::make_unique<fake::FakeJob>(o);
    };
    return c;
}

}  // namespace uitest
