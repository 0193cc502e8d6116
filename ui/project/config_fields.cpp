#include "project/config_fields.h"

#include <QHash>
#include <QObject>

namespace {
FieldHint integer(const QString& label, const QString& help, double minimum = 0, double maximum = 1e9) {
    FieldHint h{label, help, FieldKind::Integer, minimum, maximum, {}, true};
    return h;
}
FieldHint number(const QString& label, const QString& help, double minimum = 0, double maximum = 1e9) {
    return FieldHint{label, help, FieldKind::Number, minimum, maximum, {}, true};
}
FieldHint choice(const QString& label, const QString& help, const QStringList& choices) {
    return FieldHint{label, help, FieldKind::Choice, 0, 0, choices, true};
}
FieldHint of(FieldKind kind, const QString& label, const QString& help) { return FieldHint{label, help, kind, 0, 0, {}, true}; }

// Keyed by the path inside the config; the engine's job headers (engine/jobs/*.cpp) are the reference.
const QHash<QString, FieldHint>& table() {
    static const QHash<QString, FieldHint> t = [] {
        using K = FieldKind;
        QHash<QString, FieldHint> h;
        h["iterations"] = integer(QObject::tr("Iterations"), QObject::tr("Generator updates"), 1, 1e8);
        h["batch_size"] = integer(QObject::tr("Batch size"), QObject::tr("Samples per step"), 1, 65536);
        h["seed"] = integer(QObject::tr("Seed"), QObject::tr("Fixes the initial weights and the sampling"), 0, 2147483647);
        h["lr"] = number(QObject::tr("Learning rate"), QObject::tr("Adam step size for G and the critics"), 0, 1);
        h["n_critic"] = integer(QObject::tr("Critic steps"), QObject::tr("Critic updates per generator update"), 1, 100);
        h["sample_every"] = integer(QObject::tr("Sample grid every"), QObject::tr("Iterations between sample grids (0: never)"));
        h["checkpoint_every"] = integer(QObject::tr("Checkpoint every"), QObject::tr("Iterations between checkpoints (0: only at the end)"));
        h["evaluation_every"] = integer(QObject::tr("Evaluate every"), QObject::tr("Iterations between FID/KID/W1 evaluations (0: never)"));
        h["eval_every"] = integer(QObject::tr("Sliced W1 every"), QObject::tr("Iterations between the cheap sliced-W1 progress signal"));
        h["update_every"] = integer(QObject::tr("Dual update every"), QObject::tr("Constrained mode: iterations between λ updates"), 1, 1e6);
        h["step_size"] = number(QObject::tr("Dual step ρ"), QObject::tr("Constrained mode: step of the dual ascent on λ"), 0, 100);
        h["weights"] = choice(QObject::tr("Weights"), QObject::tr("fixed: λ_k ∝ 1/η_k; constrained: λ adapted so that Ŵ_k ≤ η_k"),
                              {"fixed", "constrained"});
        h["mode"] = choice(QObject::tr("Combine"), QObject::tr("joint: all critics at once; recursive: merge pairwise in descending λ; "
                                                               "mixture: one critic on the λ-mixture of the sources; auto: mixture "
                                                               "unless the coverage check says nearest (needs radii auto)"),
                           {"joint", "recursive", "mixture", "auto"});
        h["radii"] = of(K::JsonValue, QObject::tr("Radii"), QObject::tr("\"auto\": estimate η_k from the local samples; or a number per source"));
        h["lambda_barycenter"] = number(QObject::tr("λ barycenter"), QObject::tr("Weight of the critic that holds G near the barycenter"), 0, 1e6);
        h["lambda_local"] = number(QObject::tr("λ local"), QObject::tr("Weight of the critic on the n local samples"), 0, 1e6);
        h["barycenter_schedule"] = choice(QObject::tr("λ_B schedule"), QObject::tr("How the barycenter's weight changes over the adaptation"),
                                          {"constant", "linear", "cosine"});
        h["freeze_critic_blocks"] = integer(QObject::tr("Frozen critic blocks"), QObject::tr("FreezeD: the local critic's first blocks stay fixed"), 0, 16);
        h["barycenter"] = of(K::File, QObject::tr("Barycenter"), QObject::tr("The stage-1 generator to adapt (default: the newest finished barycenter run)"));
        h["critic_init"] = of(K::File, QObject::tr("Critics from"), QObject::tr("Start the critics from this checkpoint's (default: the barycenter run's)"));
        h["generator"] = of(K::File, QObject::tr("Generator"), QObject::tr("The generator to use (default: the newest finished adapt, barycenter or pretrain run)"));
        h["data"] = of(K::DataSpec, QObject::tr("Data"), QObject::tr("A dataset spec: fashion-mnist:train:8,9, folder:DIR, toy:ring8, …"));
        h["target"] = of(K::DataSpec, QObject::tr("Target"), QObject::tr("The local data: where the n samples are drawn from"));
        h["k"] = integer(QObject::tr("Local samples n"), QObject::tr("How many samples of the data are used"), 0, 1e9);
        h["k_seed"] = integer(QObject::tr("Sample seed"), QObject::tr("Which n samples are drawn"), 0, 2147483647);
        h["method"] = choice(QObject::tr("Method"), QObject::tr("learned threshold, TWN or TTQ ternarization"), {"learned", "twn", "ttq"});
        h["keep_last_float"] = of(K::Boolean, QObject::tr("Output layer in float"), QObject::tr("Keep the last layer's weights in float"));
        h["keep_first_last_float"] = of(K::Boolean, QObject::tr("First and last in float"), QObject::tr("Keep the first and last layers in float"));
        h["runtime.threads"] = integer(QObject::tr("Threads"), QObject::tr("LibTorch threads (0: all cores). One thread is best while the GUI or another run shares a 2-core machine."), 0, 1024);
        h["runtime.precision"] = choice(QObject::tr("Precision"), QObject::tr("fp32; bf16: mixed precision (convolutions and linear layers in bfloat16, weights, losses and scores in fp32; measured 3-13 % faster on AVX512-BF16 CPUs, slower on AMX ones: bench/README.md); auto: fp32 until bf16 is shown to pay"), {"auto", "fp32", "bf16"});
        h["runtime.device"] = choice(QObject::tr("Device"), QObject::tr("auto: CUDA when this build has it, else CPU"), {"auto", "cpu", "cuda"});
        h["arch.family"] = choice(QObject::tr("Architecture"), QObject::tr("dcgan32: 32×32 images; dcgan64: 64×64 images; mlp2d: 2-D toy points"), {"dcgan32", "dcgan64", "mlp2d"});
        h["arch.preset"] = choice(QObject::tr("Size"), QObject::tr("small: CPU-friendly widths; paper: the authors' MNIST (dcgan32) or LSUN (dcgan64) widths; cifar: the authors' CIFAR widths (dcgan32); lsun: same as paper (dcgan64)"), {"small", "paper", "cifar", "lsun"});
        h["arch.channels"] = integer(QObject::tr("Channels"), QObject::tr("1: gray, 3: RGB"), 1, 3);
        for (const QString& protocol : {QStringLiteral("evaluation"), QStringLiteral("protocol")}) {
            h[protocol + ".reference"] = of(K::DataSpec, QObject::tr("Reference"), QObject::tr("Held-out real images the generator is scored against"));
            h[protocol + ".real_samples"] = integer(QObject::tr("Real samples"), QObject::tr("Reference images used for FID/KID"), 2, 1e7);
            h[protocol + ".fake_samples"] = integer(QObject::tr("Generated samples"), QObject::tr("Generated images used for FID/KID"), 2, 1e7);
            h[protocol + ".w1_samples"] = integer(QObject::tr("W1 samples"), QObject::tr("Samples per side of the exact W1"), 0, 1e6);
            h[protocol + ".diversity_samples"] = integer(QObject::tr("Diversity samples"), QObject::tr("Samples for the diversity score"), 0, 1e6);
            h[protocol + ".seed"] = integer(QObject::tr("Seed"), QObject::tr("Fixes which samples are scored"), 0, 2147483647);
        }
        h["methods"] = of(K::JsonValue, QObject::tr("Methods"), QObject::tr("JSON list: barycenter, transfer_gan, sequential, average, ensemble, freezed, edge_only, …"));
        h["seeds"] = of(K::JsonValue, QObject::tr("Seeds"), QObject::tr("JSON list of seeds, e.g. [1, 2, 3]"));
        h["shots"] = of(K::JsonValue, QObject::tr("Local samples n"), QObject::tr("JSON list of n, e.g. [20]"));
        h["sources"] = of(K::JsonValue, QObject::tr("Sources"), QObject::tr("From the Sources dock"));
        return h;
    }();
    return t;
}
}  // namespace

FieldHint fieldHint(const QString& kind, const QString& path) {
    FieldHint hint = table().value(path);
    if (kind == "experiment" && path == "barycenter") hint = FieldHint{};  // the experiment's stage-1 settings (an object)
    return hint;
}

QStringList preferredKeyOrder() {
    return {"sources", "generator", "barycenter", "critic_init", "data", "target", "k", "shots", "k_seed", "methods",
            "method", "iterations", "batch_size", "lr", "n_critic", "lambda_barycenter", "lambda_local",
            "barycenter_schedule", "freeze_critic_blocks", "weights", "mode", "radii", "seed", "seeds",
            "sample_every", "checkpoint_every", "evaluation_every", "arch", "evaluation", "protocol", "runtime"};
}
