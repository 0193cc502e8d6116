// Shared by the UI test suites: scratch files, tiny fake generator files in the native layout, and a
// job catalog of fake jobs (tests/ui/fake_job.h) the MainWindow can run.
#pragma once
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QtEndian>

#include "bridge/job_catalog.h"
#include "fake_job.h"
#include "support/test_support.h"

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

// A minimal file in the native layout (io/checkpoint.h): u64 LE header length, JSON header, data.
inline QByteArray fakeCheckpoint(const QJsonObject& arch, const QJsonObject& meta = {}) {
    QJsonObject header;
    header["generator.net.0.weight"] = QJsonObject{{"dtype", "F32"}, {"shape", QJsonArray{1}}, {"data_offsets", QJsonArray{0, 4}}};
    header["__metadata__"] = QJsonObject{{"format", "coalesce-checkpoint"},
                                         {"version", "1"},
                                         {"arch", QString::fromUtf8(QJsonDocument(arch).toJson(QJsonDocument::Compact))},
                                         {"meta", QString::fromUtf8(QJsonDocument(meta).toJson(QJsonDocument::Compact))}};
    const QByteArray json = QJsonDocument(header).toJson(QJsonDocument::Compact);
    QByteArray bytes(8, 0);
    qToLittleEndian<quint64>(quint64(json.size()), bytes.data());
    return bytes + json + QByteArray(4, 0);
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
