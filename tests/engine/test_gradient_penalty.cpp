// Gradient penalty (train/gradient_penalty.h) against independent ground truth:
//  * a linear critic, whose input gradient is its weight w everywhere: GP = (‖w‖ − 1)² (standard) or
//    the pixel mean of (‖w[:, h, w]‖ − 1)² (per_pixel), and ∂GP/∂w in closed form;
//  * small real critics (dcgan32 with 3 channels so that the two modes differ, mlp2d) in float64: the
//    input gradient by central finite differences of D, the penalty computed from it in plain loops;
//  * ∂GP/∂θ for every critic parameter θ by central finite differences of the GP value.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include "core/error.h"
#include "models/networks.h"
#include "train/gradient_penalty.h"

using namespace coalesce;

namespace {

using CriticFn = std::function<torch::Tensor(const torch::Tensor&)>;

ArchSpec tinyImageSpec(int channels) {
    ArchSpec s = ArchSpec::preset("dcgan32", "small", channels);
    s.criticWidths = {2, 3, 2};
    return ArchSpec::fromJson(s.toJson());
}

ArchSpec tinyPointSpec() {
    ArchSpec s = ArchSpec::preset("mlp2d");
    s.criticWidths = {6, 5};
    return ArchSpec::fromJson(s.toJson());
}

// GP from input gradients computed by central differences of D, in plain double loops.
double penaltyByFiniteDifferences(Critic& critic, const torch::Tensor& mixed, GradientPenaltyMode mode) {
    torch::NoGradGuard noGrad;
    const double h = 1e-6;
    torch::Tensor x = mixed.clone();
    auto flat = x.view({-1});
    std::vector<double> grad(static_cast<size_t>(x.numel()));
    for (int64_t i = 0; i < x.numel(); ++i) {
        const double keep = flat[i].item<double>();
        flat[i] = keep + h;
        const double up = critic->forward(x).sum().item<double>();  // samples are independent: Σ_b D(x_b)
        flat[i] = keep - h;
        const double down = critic->forward(x).sum().item<double>();
        flat[i] = keep;
        grad[static_cast<size_t>(i)] = (up - down) / (2 * h);
    }
    const int64_t b = x.size(0);
    if (x.dim() == 2 || mode == GradientPenaltyMode::Standard) {
        const int64_t per = x.numel() / b;
        double sum = 0;
        for (int64_t s = 0; s < b; ++s) {
            double sq = 0;
            for (int64_t j = 0; j < per; ++j) sq += grad[s * per + j] * grad[s * per + j];
            sum += (std::sqrt(sq) - 1) * (std::sqrt(sq) - 1);
        }
        return sum / b;
    }
    const int64_t c = x.size(1), hw = x.size(2) * x.size(3);
    double sum = 0;
    for (int64_t s = 0; s < b; ++s)
        for (int64_t p = 0; p < hw; ++p) {
            double sq = 0;
            for (int64_t ch = 0; ch < c; ++ch) {
                const double g = grad[(s * c + ch) * hw + p];
                sq += g * g;
            }
            sum += (std::sqrt(sq) - 1) * (std::sqrt(sq) - 1);
        }
    return sum / static_cast<double>(b * hw);
}

// max_i |autograd ∂GP/∂θ_i − central difference| / max |∂GP/∂θ|, over every critic parameter.
double parameterGradientError(Critic& critic, const torch::Tensor& real, const torch::Tensor& fake,
                              const torch::Tensor& eps, GradientPenaltyMode mode) {
    CriticFn fn = [&critic](const torch::Tensor& x) { return critic->forward(x); };
    critic->zero_grad();
    gradientPenalty(fn, real, fake, eps, mode).backward();
    double worst = 0, scale = 0;
    const double h = 1e-6;
    for (auto& p : critic->parameters()) {
        // Parameters the input gradient does not depend on (the last bias) get no gradient at all: 0.
        auto analytic = p.grad().defined() ? p.grad().clone().view({-1}) : torch::zeros({p.numel()}, p.options());
        auto flat = p.data().view({-1});
        for (int64_t i = 0; i < flat.numel(); ++i) {
            const double keep = flat[i].item<double>();
            flat[i] = keep + h;
            const double up = gradientPenalty(fn, real, fake, eps, mode).item<double>();
            flat[i] = keep - h;
            const double down = gradientPenalty(fn, real, fake, eps, mode).item<double>();
            flat[i] = keep;
            const double numeric = (up - down) / (2 * h);
            worst = std::max(worst, std::fabs(numeric - analytic[i].item<double>()));
            scale = std::max(scale, std::fabs(numeric));
        }
    }
    return worst / std::max(scale, 1e-12);
}

}  // namespace

class TestGradientPenalty : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(1);
        torch::manual_seed(7);
    }

    void linearCriticHasClosedFormPenaltyAndGradient() {
        const int64_t b = 4, c = 3, h = 5, w = 6;
        torch::Tensor weight = (0.3 * torch::randn({c, h, w}, torch::kDouble)).requires_grad_(true);
        CriticFn linear = [&weight](const torch::Tensor& x) { return (x * weight).flatten(1).sum(1) + 0.7; };
        torch::Tensor real = torch::randn({b, c, h, w}, torch::kDouble);
        torch::Tensor fake = torch::randn({b, c, h, w}, torch::kDouble);
        torch::Tensor eps = torch::rand({b}, torch::kDouble);
        torch::Tensor wd = weight.detach();

        // Standard: (‖w‖ − 1)², ∂/∂w = 2(‖w‖ − 1) w / ‖w‖.
        const double norm = wd.norm().item<double>();
        torch::Tensor gp = gradientPenalty(linear, real, fake, eps, GradientPenaltyMode::Standard);
        QVERIFY(std::fabs(gp.item<double>() - (norm - 1) * (norm - 1)) < 1e-9);
        gp.backward();
        QVERIFY(torch::allclose(weight.grad(), 2 * (norm - 1) * wd / norm, 1e-9, 1e-12));

        // Per pixel: mean over h,w of (‖w[:,h,w]‖ − 1)², ∂/∂w[:,h,w] = 2(n − 1) w[:,h,w] / n / (H·W).
        weight.grad().zero_();
        torch::Tensor pixelNorms = wd.pow(2).sum(0).sqrt();  // H×W
        const double expected = (pixelNorms - 1).pow(2).mean().item<double>();
        gp = gradientPenalty(linear, real, fake, eps, GradientPenaltyMode::PerPixel);
        QVERIFY(std::fabs(gp.item<double>() - expected) < 1e-9);
        gp.backward();
        torch::Tensor expectedGrad = 2 * (pixelNorms - 1) / pixelNorms * wd / static_cast<double>(h * w);
        QVERIFY(torch::allclose(weight.grad(), expectedGrad, 1e-9, 1e-12));
        // The two variants really differ for C > 1.
        QVERIFY(std::fabs(expected - (norm - 1) * (norm - 1)) > 1e-3);
    }

    void interpolatesPerSample() {
        // A critic that reports ‖x‖² has input gradient 2x: with ε = 1 the penalty sees only the real
        // batch, with ε = 0 only the fake one.
        CriticFn square = [](const torch::Tensor& x) { return x.pow(2).flatten(1).sum(1); };
        torch::Tensor real = torch::full({2, 1, 2, 2}, 0.25, torch::kDouble);  // ∇ = 0.5 per pixel, ‖∇‖ = 1
        torch::Tensor fake = torch::zeros({2, 1, 2, 2}, torch::kDouble);
        auto mode = GradientPenaltyMode::Standard;
        QVERIFY(std::fabs(gradientPenalty(square, real, fake, torch::ones({2}, torch::kDouble), mode).item<double>()) < 1e-9);
        QVERIFY(std::fabs(gradientPenalty(square, real, fake, torch::zeros({2}, torch::kDouble), mode).item<double>() - 1.0) < 1e-5);
        // Mixed: sample 0 real (0), sample 1 fake (1) → mean 0.5.
        auto eps = torch::tensor({1.0, 0.0}, torch::kDouble);
        QVERIFY(std::fabs(gradientPenalty(square, real, fake, eps, mode).item<double>() - 0.5) < 1e-5);
    }

    void penaltyMatchesFiniteDifferenceInputGradients() {
        for (auto mode : {GradientPenaltyMode::Standard, GradientPenaltyMode::PerPixel}) {
            Critic critic(tinyImageSpec(3));
            critic->to(torch::kDouble);
            torch::Tensor real = torch::rand({2, 3, 32, 32}, torch::kDouble) * 2 - 1;
            torch::Tensor fake = torch::rand({2, 3, 32, 32}, torch::kDouble) * 2 - 1;
            torch::Tensor eps = torch::tensor({0.3, 0.8}, torch::kDouble);
            CriticFn fn = [&critic](const torch::Tensor& x) { return critic->forward(x); };
            const double ours = gradientPenalty(fn, real, fake, eps, mode).item<double>();
            torch::Tensor mixed = eps.view({2, 1, 1, 1}) * real + (1 - eps.view({2, 1, 1, 1})) * fake;
            const double independent = penaltyByFiniteDifferences(critic, mixed, mode);
            QVERIFY2(std::fabs(ours - independent) <= 1e-6 * std::max(1.0, std::fabs(independent)),
                     qPrintable(QString("%1: %2 vs finite differences %3").arg(toString(mode)).arg(ours).arg(independent)));
        }
        Critic points(tinyPointSpec());
        points->to(torch::kDouble);
        torch::Tensor real = torch::randn({5, 2}, torch::kDouble), fake = torch::randn({5, 2}, torch::kDouble);
        torch::Tensor eps = torch::rand({5}, torch::kDouble);
        CriticFn fn = [&points](const torch::Tensor& x) { return points->forward(x); };
        torch::Tensor mixed = eps.view({5, 1}) * real + (1 - eps.view({5, 1})) * fake;
        const double independent = penaltyByFiniteDifferences(points, mixed, GradientPenaltyMode::Standard);
        for (auto mode : {GradientPenaltyMode::Standard, GradientPenaltyMode::PerPixel})  // identical for points
            QVERIFY(std::fabs(gradientPenalty(fn, real, fake, eps, mode).item<double>() - independent) < 1e-7);
    }

    void parameterGradientsMatchFiniteDifferences() {
        for (auto mode : {GradientPenaltyMode::Standard, GradientPenaltyMode::PerPixel}) {
            Critic critic(tinyImageSpec(3));
            critic->to(torch::kDouble);
            torch::Tensor real = torch::rand({2, 3, 32, 32}, torch::kDouble) * 2 - 1;
            torch::Tensor fake = torch::rand({2, 3, 32, 32}, torch::kDouble) * 2 - 1;
            const double err = parameterGradientError(critic, real, fake, torch::tensor({0.4, 0.9}, torch::kDouble), mode);
            QVERIFY2(err < 1e-5, qPrintable(QString("%1: relative error %2").arg(toString(mode)).arg(err)));
        }
        Critic points(tinyPointSpec());
        points->to(torch::kDouble);
        const double err = parameterGradientError(points, torch::randn({6, 2}, torch::kDouble),
                                                  torch::randn({6, 2}, torch::kDouble), torch::rand({6}, torch::kDouble),
                                                  GradientPenaltyMode::Standard);
        QVERIFY2(err < 1e-5, qPrintable(QString("mlp2d: relative error %1").arg(err)));
    }

    void parsesModesAndRejectsUnknownOnes() {
        QCOMPARE(parseGradientPenaltyMode("standard"), GradientPenaltyMode::Standard);
        QCOMPARE(parseGradientPenaltyMode("per_pixel"), GradientPenaltyMode::PerPixel);
        try {
            parseGradientPenaltyMode("perpixel");
            QFAIL("expected an error");
        } catch (const Error& e) {
            QVERIFY(std::string(e.what()).find("gp") != std::string::npos);
            QVERIFY(std::string(e.what()).find("per_pixel") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(Error, gradientPenalty([](const torch::Tensor& x) { return x.sum(1); },
                                                        torch::zeros({2, 3}), torch::zeros({3, 3}),
                                                        torch::zeros({2}), GradientPenaltyMode::Standard));
    }
};

COALESCE_TEST_APPLESS_MAIN(TestGradientPenalty)
#include "test_gradient_penalty.moc"
