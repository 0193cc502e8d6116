// FID, KID, precision/recall and diversity against closed forms, scipy (tests/python/make_fid_golden.py),
// statistical properties (KID unbiasedness) and bad-input errors.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "metrics/feature_metrics.h"
#include "support/test_support.h"
#include "support/error_of.h"

using namespace coalesce;
using coalesce::test::relativeError;

using coalesce::test::expectError;
using coalesce::test::writeMatrixText;

namespace {

GaussianStatistics stats(const torch::Tensor& mean, const torch::Tensor& cov) {
    GaussianStatistics s;
    s.mean = mean.to(torch::kDouble);
    s.covariance = cov.to(torch::kDouble);
    s.count = 1000;
    return s;
}

}  // namespace

class TestMetricsFeatures : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(2);
        torch::manual_seed(11);
    }

    void fidOfASetAgainstItselfIsZeroAndPermutationInvariant() {
        auto x = torch::randn({400, 24}) * torch::linspace(0.1, 3.0, 24);
        QVERIFY(frechetDistance(x, x) < 1e-8);
        auto y = torch::rand({300, 24}) * 2;
        const double d = frechetDistance(x, y);
        QVERIFY(d > 1.0);
        const double permuted = frechetDistance(x.index_select(0, torch::randperm(400)), y.index_select(0, torch::randperm(300)));
        QVERIFY(relativeError(permuted, d) < 1e-9);
        QVERIFY(relativeError(frechetDistance(y, x), d) < 1e-9);  // symmetric
    }

    void fidOfTwoGaussiansMatchesTheClosedForm() {
        // 2×2, non-commuting covariances: eigenvalues λ₁, λ₂ of Σ₁Σ₂ give
        // Tr √(Σ₁Σ₂) = √λ₁ + √λ₂ = √(Tr Σ₁Σ₂ + 2 √(det Σ₁ det Σ₂)).
        auto s1 = torch::tensor({{2.0, 0.6}, {0.6, 1.0}}, torch::kDouble);
        auto s2 = torch::tensor({{0.5, -0.3}, {-0.3, 1.5}}, torch::kDouble);
        auto m1 = torch::tensor({1.0, -1.0}, torch::kDouble), m2 = torch::tensor({0.0, 2.0}, torch::kDouble);
        const double traceSqrt = std::sqrt(torch::matmul(s1, s2).trace().item<double>() +
                                           2 * std::sqrt(s1.det().item<double>() * s2.det().item<double>()));
        const double expected = (m1 - m2).pow(2).sum().item<double>() + s1.trace().item<double>() +
                                s2.trace().item<double>() - 2 * traceSqrt;
        QVERIFY(relativeError(frechetDistance(stats(m1, s1), stats(m2, s2)), expected) < 1e-10);
        // Diagonal covariances in 50-D: Σ (√a − √b)², including a rank-deficient (PSD, singular) one.
        auto a = torch::rand({50}, torch::kDouble) * 4, b = torch::rand({50}, torch::kDouble) * 4;
        b.slice(0, 0, 10).zero_();
        const double diagonal = (a.sqrt() - b.sqrt()).pow(2).sum().item<double>();
        QVERIFY(relativeError(frechetDistance(stats(torch::zeros({50}), torch::diag(a)), stats(torch::zeros({50}), torch::diag(b))),
                              diagonal) < 1e-9);
        // From samples: 40 000 draws per Gaussian land within 2 % of the population value.
        auto l1 = torch::linalg_cholesky(s1), l2 = torch::linalg_cholesky(s2);
        auto x = torch::matmul(torch::randn({40000, 2}, torch::kDouble), l1.t()) + m1;
        auto y = torch::matmul(torch::randn({40000, 2}, torch::kDouble), l2.t()) + m2;
        QVERIFY(relativeError(frechetDistance(x, y), expected) < 0.02);
    }

    void fidAndMmdMatchScipyGolden() {
        auto x = torch::rand({300, 20}, torch::kDouble).pow(2);  // skewed, correlated-ish, non-Gaussian
        auto y = torch::randn({250, 20}, torch::kDouble) * 0.4 + 0.3;
        const auto dir = test::scratchDir("fid-golden");
        writeMatrixText(dir + "/x.txt", x);
        writeMatrixText(dir + "/y.txt", y);
        std::string out;
        QCOMPARE(test::runPython("make_fid_golden.py", dir + "/x.txt " + dir + "/y.txt", &out), 0);
        std::istringstream lines(out);
        std::string tag1, tag2;
        double fid = 0, mmd2 = 0;
        lines >> tag1 >> fid >> tag2 >> mmd2;
        QCOMPARE(tag1, std::string("fid"));
        QCOMPARE(tag2, std::string("mmd2"));
        QVERIFY2(relativeError(frechetDistance(x, y), fid) < 1e-6, qPrintable(QString::number(fid)));
        QVERIFY2(relativeError(unbiasedMmdSquared(x, y), mmd2) < 1e-9, qPrintable(QString::number(mmd2)));
    }

    void kidIsUnbiasedOnTwoSamplesOfOneDistribution() {
        auto x = torch::rand({1000, 32}, torch::kDouble), y = torch::rand({1000, 32}, torch::kDouble);
        const auto same = kernelInceptionDistance(x, y, {10, 3});
        QVERIFY2(std::fabs(same.mean) < 3 * same.standardError,
                 qPrintable(QString("%1 ± %2").arg(same.mean).arg(same.standardError)));
        QCOMPARE(same.subsets, 10);
        const auto shifted = kernelInceptionDistance(x, y + 0.1, {10, 3});
        QVERIFY(shifted.mean > 3 * shifted.standardError);
        // Over many small replications the unbiased estimator averages to 0, while the plug-in (biased)
        // V-statistic, which keeps the diagonal k(x, x) terms, stays clearly positive.
        std::vector<double> unbiased, biased;
        for (int r = 0; r < 300; ++r) {
            auto a = torch::rand({12, 6}, torch::kDouble), b = torch::rand({12, 6}, torch::kDouble);
            unbiased.push_back(unbiasedMmdSquared(a, b));
            auto k = [](const torch::Tensor& p, const torch::Tensor& q) { return (torch::matmul(p, q.t()) / 6.0 + 1).pow(3).mean(); };
            biased.push_back((k(a, a) + k(b, b) - 2 * k(a, b)).item<double>());
        }
        auto u = torch::tensor(unbiased), v = torch::tensor(biased);
        const double se = u.std().item<double>() / std::sqrt(300.0);
        QVERIFY2(std::fabs(u.mean().item<double>()) < 3 * se, qPrintable(QString::number(u.mean().item<double>())));
        QVERIFY(v.mean().item<double>() > 10 * v.std().item<double>() / std::sqrt(300.0));
    }

    void precisionRecallOnHandSolvedAndCollapsedSets() {
        // Real {0,1,2,3} on a line, k = 1: every real radius is 1. Fake {0.5, 10}: 0.5 is inside,
        // 10 is not → precision 1/2. Fake radii are both 9.5, covering every real point → recall 1.
        auto real = torch::tensor({0.0, 1.0, 2.0, 3.0}).unsqueeze(1);
        auto fake = torch::tensor({0.5, 10.0}).unsqueeze(1);
        auto pr = precisionRecall(real, fake, 1);
        QCOMPARE(pr.precision, 0.5);
        QCOMPARE(pr.recall, 1.0);
        // Mode collapse: fakes cover one of two real modes → high precision, recall about one half.
        auto modes = torch::randn({600, 2}) * 0.1 + (torch::rand({600, 1}) > 0.5).to(torch::kFloat) * 5;
        auto collapsed = torch::randn({600, 2}) * 0.1;
        auto c = precisionRecall(modes, collapsed, 3);
        QVERIFY(c.precision > 0.9);
        QVERIFY(c.recall > 0.3 && c.recall < 0.7);
        auto far = precisionRecall(modes, collapsed + 100, 3);
        QCOMPARE(far.precision, 0.0);
        QCOMPARE(far.recall, 0.0);
        auto same = precisionRecall(modes.slice(0, 0, 300), modes.slice(0, 300, 600), 3);
        QVERIFY(same.precision > 0.8 && same.recall > 0.8);
    }

    void diversityIsTheMeanPairwiseDistance() {
        // The 3-4-5 triangle: pairwise distances 5, 4, 3.
        QVERIFY(std::fabs(meanPairwiseDistance(torch::tensor({{0.0, 0.0}, {3.0, 4.0}, {0.0, 4.0}})) - 4.0) < 1e-12);
        QCOMPARE(meanPairwiseDistance(torch::ones({10, 5})), 0.0);  // a collapsed batch
    }

    void badInputIsAClearError() {
        auto ok = torch::randn({30, 4});
        expectError([&] { frechetDistance(ok.slice(0, 0, 1), ok); }, "at least 2 samples");
        expectError([&] { frechetDistance(ok, torch::randn({30, 5})); }, "different dimensions");
        auto nan = ok.clone();
        nan[3][0] = NAN;
        expectError([&] { frechetDistance(ok, nan); }, "NaN or Inf");
        expectError([&] { kernelInceptionDistance(ok, torch::empty({0, 4})); }, "empty");
        expectError([&] { kernelInceptionDistance(ok, ok.slice(0, 0, 10), {10, 0}); }, "at least 20 samples");
        expectError([&] { kernelInceptionDistance(ok, ok, {1, 0}); }, "subsets must be >= 2");
        expectError([&] { precisionRecall(ok, ok.slice(0, 0, 3), 3); }, "k-NN with k=3 needs at least 4 samples");
        expectError([&] { precisionRecall(ok, ok, 0); }, "k must be >= 1");
        auto inf = ok.clone();
        inf[0][1] = -INFINITY;
        expectError([&] { precisionRecall(inf, ok, 3); }, "NaN or Inf");
        expectError([&] { meanPairwiseDistance(ok.slice(0, 0, 1)); }, "at least 2 samples");
        GaussianStatistics broken;
        expectError([&] { frechetDistance(broken, broken); }, "malformed");
    }
};

COALESCE_TEST_APPLESS_MAIN(TestMetricsFeatures)
#include "test_metrics_features.moc"
