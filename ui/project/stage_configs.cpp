#include "project/stage_configs.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QStandardPaths>
#include <QThread>

#include "project/project.h"

QVector<StageInfo> pipelineStages() {
    return {
        {"pretrain", QObject::tr("Pretrain sources"),
         QObject::tr("Train a WGAN-GP generator on source classes (or a 2-D toy mixture). "
                     "Use it to make the pre-trained generators when you have none.")},
        {"barycenter", QObject::tr("Barycenter"),
         QObject::tr("Coalesce the source generators into their W1 barycenter with weights λ_k ∝ 1/η_k "
                     "(fixed) or adapted to keep Ŵ_k ≤ η_k (constrained); joint, recursive, or the λ-mixture of the sources "
                     "(mixture: where they together cover your data).")},
        {"adapt", QObject::tr("Adapt to local data"),
         QObject::tr("Fast adaptation: start from the barycenter and train on the n local samples.")},
        {"experiment", QObject::tr("Baselines (experiment)"),
         QObject::tr("Barycenter adaptation against edge-only, TransferGAN, model average, … on the same n local "
                     "samples, budget, seeds and evaluation protocol; writes report/summary.md with tables, "
                     "curves and sample grids.")},
        {"ternarize", QObject::tr("Ternarize"),
         QObject::tr("Ternary weights with a learned threshold (or TWN / TTQ); exports a packed 2-bit file.")},
        {"evaluate", QObject::tr("Evaluate"),
         QObject::tr("FID/KID in the project's own feature space, exact and sliced W1, precision/recall, diversity.")},
    };
}

namespace {
// The held-out split of the local data's classes where the dataset has one (train → test): what the
// experiment and the ternarize stage score against.
QString heldOutReference(const Project& project) {
    QString reference = project.localData().spec;
    if (reference.contains(QLatin1String(":train"))) reference.replace(QLatin1String(":train"), QLatin1String(":test"));
    return reference;
}
QJsonObject defaultEvaluation(const Project& project) {
    return QJsonObject{{"reference", heldOutReference(project)}, {"real_samples", 500}, {"fake_samples", 500},
                       {"w1_samples", 500}, {"diversity_samples", 100}};
}
}  // namespace

int defaultThreads() {
    // The GUI and its curves need a core of their own: on a 2-core machine two OpenMP threads beside a busy
    // GUI were measured 5-20x slower than one (README, "Quick start").
    const int cores = QThread::idealThreadCount();
    return cores <= 2 ? 1 : cores - 1;
}

QJsonObject stageDefaults(const QString& kind, const Project& project) {
    const bool toy = project.localData().spec.startsWith(QLatin1String("toy:"));
    QJsonObject c{{"kind", kind}};
    const QJsonObject runtime{{"threads", defaultThreads()}, {"device", "auto"}};
    QJsonObject trainingRuntime = runtime;  // training stages also choose their arithmetic (fp32 / bf16)
    trainingRuntime["precision"] = "auto";
    if (kind == "pretrain") {
        c["data"] = toy ? QStringLiteral("toy:ring8") : QStringLiteral("fashion-mnist:train:0,1,2,3");
        c["arch"] = QJsonObject{{"family", toy ? "mlp2d" : "dcgan32"}, {"preset", "small"}};
        c["iterations"] = toy ? 1000 : 2000;
        c["batch_size"] = 64;
        c["n_critic"] = 5;
        c["lr"] = toy ? 1e-3 : 1e-4;  // the engine's defaults (jobs/pretrain_job.cpp), shown so they can be changed
        c["seed"] = 1;
        c["sample_every"] = toy ? 50 : 100;
        c["checkpoint_every"] = 200;
        c["runtime"] = trainingRuntime;
    } else if (kind == "experiment") {
        c["methods"] = QJsonArray{"barycenter", "transfer_gan", "average", "edge_only"};
        c["seeds"] = QJsonArray{1, 2, 3};
        c["barycenter"] = QJsonObject{{"iterations", toy ? 500 : 200}, {"batch_size", toy ? 128 : 32}};
        c["adaptation"] = QJsonObject{{"iterations", toy ? 300 : 100}, {"batch_size", toy ? 128 : 16},
                                      {"sample_every", 50}, {"checkpoint_every", 50}};
        c["evaluation"] = defaultEvaluation(project);
        c["evaluation_every"] = 20;
        c["runtime"] = QJsonObject{{"threads", 1}, {"device", "auto"}, {"precision", "auto"}};  // 1 thread: see README (shared machines)
    } else if (kind == "barycenter" || kind == "adapt") {
        c["iterations"] = toy ? 1000 : 2000;
        c["batch_size"] = 64;
        c["n_critic"] = 5;
        c["lr"] = 1e-4;  // the engine's default (train/training_config.h)
        c["seed"] = 1;
        c["sample_every"] = toy ? 50 : 100;
        c["checkpoint_every"] = 200;
        {
            c["update_every"] = 10;   // constrained mode: dual update every M iterations
            c["step_size"] = 0.01;    // constrained mode: dual ascent step ρ
        }
        if (kind == "adapt") {
            // The anchor from the radii ("auto": λ_B : λ_0 = η_0 : η_B; README, "How the defaults were chosen"):
            // never far from the best fixed anchor measured, where every fixed one fails somewhere. Overlapping
            // validation: n = 100 FID 121 (3 : 1 187, 1 : 1 137), n = 20 197 (3 : 1 167); the disjoint protocol
            // (no target class in any source), n = 20: ~330 where 3 : 1 holds G at ~850. Both critics start
            // from stage 1's (derived below).
            c["lambda_barycenter"] = "auto";
            // η in the FID feature space where the project has a feature net for the data (Fashion-MNIST,
            // MNIST), else between pixels (image folders need no trained classifier then).
            const QString spec = project.localData().spec;
            const bool features = spec.startsWith(QLatin1String("fashion-mnist:")) || spec.startsWith(QLatin1String("mnist:"));
            c["radius_estimation"] = QJsonObject{{"space", features ? "features" : "pixels"}};
        }
        c["runtime"] = trainingRuntime;
    } else if (kind == "ternarize") {
        // The best post-training option measured on Fashion-MNIST (README, "Ternarization"): TWN codes with
        // the output layer in float (15× smaller file), float and ternary scored on the held-out split.
        c["method"] = "twn";
        c["keep_last_float"] = true;
        if (!project.localData().spec.isEmpty()) c["evaluation"] = defaultEvaluation(project);
        c["runtime"] = trainingRuntime;
    } else if (kind == "evaluate") {
        // Scored like the experiment and the ternarize stage: on the held-out split of the local data.
        if (!project.localData().spec.isEmpty()) c["protocol"] = defaultEvaluation(project);
        c["runtime"] = runtime;
    }
    return c;
}

QString latestGenerator(const Project& project, const QStringList& kinds) {
    // The newest finished run of the most preferred kind that left a generator file.
    for (const QString& kind : kinds) {
        const auto& runs = project.runs();
        for (auto it = runs.crbegin(); it != runs.crend(); ++it) {
            if (it->kind != kind || it->status != QLatin1String("finished")) continue;
            const QString file = it->dir + QStringLiteral("/generator.coalesce");
            if (QFileInfo::exists(file)) return file;
        }
    }
    return {};
}

QJsonObject sourceConfigEntry(const SourceModel& s) {
    QJsonObject source{{s.blackBox ? "black_box" : "generator", s.path}, {"radius", s.radius}, {"name", s.name}};
    if (s.blackBox && s.latentDim > 0) source["latent_dim"] = s.latentDim;
    return source;
}

namespace {
// Enabled sources in merge order: the engine merges recursively in descending λ (stable), so the
// project's order decides among equal weights.
QJsonArray enabledSources(const Project& project) {
    QJsonArray sources;
    for (const QString& id : project.mergeOrder()) {
        const SourceModel* s = project.source(id);
        if (!s || !s->enabled) continue;
        sources.append(sourceConfigEntry(*s));
    }
    return sources;
}
}  // namespace

QJsonObject derivedStageKeys(const QString& kind, const Project& project) {
    QJsonObject d;
    if (kind == "barycenter") {
        d["sources"] = enabledSources(project);
        d["weights"] = weightModeName(project.weightMode());
        d["mode"] = combineModeName(project.combineMode());
    } else if (kind == "experiment") {
        d["sources"] = enabledSources(project);
        d["target"] = project.localData().spec;
        d["shots"] = QJsonArray{project.localData().count};
    } else if (kind == "adapt") {
        const LocalDataSettings local = project.localData();
        d["data"] = local.spec;
        d["k"] = local.count;
        d["k_seed"] = double(local.seed);
        if (kind == "adapt") {
            const QString bary = latestGenerator(project, {"barycenter"});
            if (!bary.isEmpty()) d["barycenter"] = bary;
            const QString critics = QFileInfo(bary).absolutePath() + QStringLiteral("/checkpoints/latest.coalesce");
            if (!bary.isEmpty() && QFileInfo::exists(critics)) d["critic_init"] = critics;
        }
    } else if (kind == "average") {
        QJsonArray files;  // the enabled sources, as the experiment's model-average baseline takes them
        for (const QJsonValue& source : enabledSources(project)) files.append(source.toObject().value("generator"));
        d["generators"] = files;
    } else if (kind == "ternarize" || kind == "evaluate") {
        const QString g = latestGenerator(project, {"adapt", "barycenter", "pretrain"});
        if (!g.isEmpty()) d["generator"] = g;
    }
    return d;
}

QSet<QString> pickableStageKeys(const QString& kind) {
    if (kind == "adapt") return {"barycenter", "critic_init"};
    if (kind == "ternarize" || kind == "evaluate") return {"generator"};
    return {};
}

QSet<QString> overriddenStageKeys(const QString& kind, const Project& project) {
    QSet<QString> picked;
    const QJsonObject user = project.stageConfig(kind);
    for (const QString& key : pickableStageKeys(kind))
        if (user.contains(key)) picked.insert(key);
    return picked;
}

QJsonObject followedStageKeys(const QString& kind, const Project& project) {
    QJsonObject d = derivedStageKeys(kind, project);
    for (const QString& key : overriddenStageKeys(kind, project)) d.remove(key);
    return d;
}

QJsonObject effectiveStageConfig(const QString& kind, const Project& project) {
    QJsonObject c = stageDefaults(kind, project);
    const QJsonObject user = project.stageConfig(kind);
    for (auto it = user.begin(); it != user.end(); ++it) c[it.key()] = it.value();
    const QJsonObject followed = followedStageKeys(kind, project);
    for (auto it = followed.begin(); it != followed.end(); ++it) c[it.key()] = it.value();
    c["kind"] = kind;
    c.remove("run_dir");
    c.remove("resume");
    return c;
}

QJsonObject userStagePart(const QString& kind, const QJsonObject& config, const Project& project) {
    QJsonObject user = config;
    const QJsonObject derived = derivedStageKeys(kind, project);
    const QSet<QString> pickable = pickableStageKeys(kind);
    // A derived key is the project's, except an input file the user picked (one that differs from the
    // newest run's): that choice is theirs and is kept.
    for (auto it = derived.begin(); it != derived.end(); ++it)
        if (!pickable.contains(it.key()) || user.value(it.key()) == it.value()) user.remove(it.key());
    for (const char* key : {"kind", "run_dir", "resume"}) user.remove(key);
    // Values equal to the defaults are not worth storing: defaults may improve in later versions.
    const QJsonObject defaults = stageDefaults(kind, project);
    for (const QString& key : user.keys())
        if (defaults.value(key) == user.value(key)) user.remove(key);
    return user;
}

QString runsFolder(const Project& project) {
    QString base = project.directory();
    if (base.isEmpty()) base = QStandardPaths::writableLocation(QStandardPaths::AppLocalDataLocation);
    return base + QStringLiteral("/runs");
}

QString newRunDirectory(const QString& kind, const Project& project) {
    const QString stem = QStringLiteral("%1/%2-%3").arg(runsFolder(project), kind, QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss"));
    QString dir = stem;
    for (int i = 2; QDir(dir).exists(); ++i) dir = stem + QStringLiteral("-%1").arg(i);
    return dir;
}
