// Exact and sliced W1: closed forms (1-D ∫|F − G|, translated copies, Diracs), golden values from POT's
// ot.emd2 (tests/python/make_w1_golden.py) on random 2-D and 784-D sets, and bad-input errors.
#include "support/test_main.h"  // Qt Test, and the suite registration
#include <torch/torch.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "metrics/optimal_transport.h"
#include "support/test_support.h"
#include "support/error_of.h"

using namespace coalesce;
using coalesce::test::relativeError;

using coalesce::test::expectError;
using coalesce::test::toDoubles;
using coalesce::test::writeMatrixText;

namespace {

// ∫|F − G| over the merged support, written independently of the library's quantile merge.
double integralOfCdfDifference(const std::vector<double>& a, const std::vector<double>& b) {
    std::vector<double> z(a);
    z.insert(z.end(), b.begin(), b.end());
    std::sort(z.begin(), z.end());
    auto cdf = [](const std::vector<double>& s, double x) {
        return static_cast<double>(std::count_if(s.begin(), s.end(), [x](double v) { return v <= x; })) / s.size();
    };
    double sum = 0;
    for (size_t k = 0; k + 1 < z.size(); ++k) sum += (z[k + 1] - z[k]) * std::fabs(cdf(a, z[k]) - cdf(b, z[k]));
    return sum;
}

}  // namespace

class TestMetricsTransport : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() {
        torch::set_num_threads(2);
        torch::manual_seed(7);
    }

    void oneDimensionalEqualsIntegralOfCdfDifference() {
        auto a = torch::randn({37}, torch::kDouble) * 2.0;
        auto b = torch::rand({53}, torch::kDouble) * 3.0 + 0.5;
        const double expected = integralOfCdfDifference(toDoubles(a), toDoubles(b));
        QVERIFY(expected > 0.1);
        QVERIFY(relativeError(w1OneDimensional(toDoubles(a), toDoubles(b)), expected) < 1e-12);
        QVERIFY(relativeError(exactW1(a.unsqueeze(1), b.unsqueeze(1)).value, expected) < 1e-9);
        // In 1-D every projection is ±identity, so sliced W1 is exact too.
        QVERIFY(relativeError(slicedW1(a.unsqueeze(1), b.unsqueeze(1), {8, 3}), expected) < 1e-12);
    }

    void translatedCopyIsExactlyTheShift() {
        for (int64_t dim : {2, 784}) {
            auto x = torch::randn({60, dim}, torch::kDouble);
            auto shift = torch::randn({dim}, torch::kDouble) * 0.3;
            const double expected = shift.norm().item<double>();
            auto r = exactW1(x, x + shift);
            QVERIFY2(relativeError(r.value, expected) < 1e-9, qPrintable(QString::number(r.value - expected)));
            QVERIFY(r.planSupport >= 60 && r.planSupport <= 60 + 60 - 1);
        }
    }

    void diracsAndDiracAgainstACloud() {
        auto a = torch::tensor({1.0, -2.0, 0.5}, torch::kDouble);
        auto b = torch::tensor({4.0, 2.0, -1.5}, torch::kDouble);
        const double d = (a - b).norm().item<double>();
        QVERIFY(relativeError(exactW1(a.repeat({4, 1}), b.repeat({7, 1})).value, d) < 1e-9);
        // All mass of a Dirac must travel to every point of the cloud: W1 = mean ‖a − y_j‖.
        auto cloud = torch::randn({11, 3}, torch::kDouble);
        const double expected = (cloud - a).norm(2, 1).mean().item<double>();
        QVERIFY(relativeError(exactW1(a.repeat({5, 1}), cloud).value, expected) < 1e-9);
        QVERIFY(exactW1(cloud, cloud).value < 1e-7);
    }

    void handSolvedCostMatrix() {
        // Two sources (mass 1/2 each), three sinks (1/3 each). Optimal: source 0 fills sink 0 and 1/6
        // of sink 1, source 1 fills sink 2 and the other 1/6 of sink 1: 0·1/3 + 1·1/6 + 1·1/6 + 0·1/3.
        auto cost = torch::tensor({{0.0, 1.0, 5.0}, {5.0, 1.0, 0.0}}, torch::kDouble);
        QVERIFY(std::fabs(exactTransportCost(cost).value - 1.0 / 3.0) < 1e-12);
    }

    void assignmentSolverIsExact() {
        // Square problems go to the assignment solver. Ground truth: every permutation for n ≤ 7, and the
        // network simplex (an independent algorithm) for larger ones, on costs with many ties (small
        // integers), with duplicated rows (as a bootstrap resample has) and on Euclidean point sets.
        torch::manual_seed(7);
        for (int64_t n = 1; n <= 7; ++n)
            for (int trial = 0; trial < 5; ++trial) {
                auto cost = trial % 2 ? torch::randint(0, 3, {n, n}, torch::kDouble) : torch::rand({n, n}, torch::kDouble);
                auto c = cost.accessor<double, 2>();
                std::vector<int64_t> perm(n);
                std::iota(perm.begin(), perm.end(), 0);
                double best = std::numeric_limits<double>::infinity();
                do {
                    double sum = 0;
                    for (int64_t i = 0; i < n; ++i) sum += c[i][perm[i]];
                    best = std::min(best, sum / n);
                } while (std::next_permutation(perm.begin(), perm.end()));
                const auto r = exactTransportCost(cost, TransportSolver::Assignment);
                QVERIFY2(std::fabs(r.value - best) < 1e-12, qPrintable(QString("n %1 trial %2: %3 vs brute force %4")
                                                                           .arg(n).arg(trial).arg(r.value, 0, 'g', 17).arg(best, 0, 'g', 17)));
                QCOMPARE(r.planSupport, n);
            }
        auto points = torch::randn({150, 20}, torch::kDouble);
        auto duplicated = points.index_select(0, torch::randint(0, 150, {150}, torch::kLong));
        const std::vector<torch::Tensor> costs{torch::randint(0, 4, {120, 120}, torch::kDouble),
                                               torch::cdist(points, torch::randn({150, 20}, torch::kDouble)),
                                               torch::cdist(duplicated, points)};
        for (const auto& cost : costs) {
            const double lap = exactTransportCost(cost, TransportSolver::Assignment).value;
            const double simplex = exactTransportCost(cost, TransportSolver::NetworkSimplex).value;
            QVERIFY2(relativeError(lap, simplex) < 1e-10, qPrintable(QString("assignment %1 vs network simplex %2")
                                                                         .arg(lap, 0, 'g', 17).arg(simplex, 0, 'g', 17)));
            QCOMPARE(exactTransportCost(cost).value, lap);  // Auto takes the assignment solver for n = m
        }
        expectError([] { exactTransportCost(torch::rand({3, 4}, torch::kDouble), TransportSolver::Assignment); },
                    "as many samples on both sides");
    }

    void matchesPotOnRandom2dAnd784dSets() {
        // TransportCase list: (n, m, dim, generator). Unequal sizes and clustered data exercise degenerate plans.
        struct TransportCase { int64_t n, m, dim; bool images; };
        const std::vector<TransportCase> cases{{200, 150, 2, false}, {300, 300, 2, false}, {120, 100, 784, true},
                                      {80, 80, 784, true}};
        const auto dir = test::scratchDir("w1-golden");
        std::vector<double> ours;
        std::string args;
        for (size_t i = 0; i < cases.size(); ++i) {
            const auto& c = cases[i];
            torch::Tensor x, y;
            if (c.images) {  // pixel-like data in [-1, 1], the second set darker
                x = torch::rand({c.n, c.dim}, torch::kDouble) * 2 - 1;
                y = (torch::rand({c.m, c.dim}, torch::kDouble) * 2 - 1.2).clamp(-1, 1);
            } else {  // two Gaussian blobs against a uniform square
                x = torch::randn({c.n, c.dim}, torch::kDouble) * 0.3 + (torch::rand({c.n, 1}) > 0.5).to(torch::kDouble) * 2;
                y = torch::rand({c.m, c.dim}, torch::kDouble) * 3 - 0.5;
            }
            const auto fx = dir + "/x" + std::to_string(i) + ".txt", fy = dir + "/y" + std::to_string(i) + ".txt";
            writeMatrixText(fx, x);
            writeMatrixText(fy, y);
            args += " " + fx + " " + fy;
            ours.push_back(exactW1(x.to(torch::kFloat64), y).value);
        }
        std::string out;
        QCOMPARE(test::runPython("make_w1_golden.py", args, &out), 0);
        std::istringstream lines(out);
        for (size_t i = 0; i < cases.size(); ++i) {
            std::string tag;
            double golden = 0;
            lines >> tag >> golden;
            QCOMPARE(tag, std::string("w1"));
            QVERIFY2(relativeError(ours[i], golden) < 1e-6,
                     qPrintable(QString("case %1: ours %2, POT %3").arg(i).arg(ours[i], 0, 'g', 17).arg(golden, 0, 'g', 17)));
        }
    }

    void slicedW1IsSeededCheapAndBelowExact() {
        auto x = torch::randn({200, 2}, torch::kDouble);
        auto shift = torch::tensor({0.6, -0.8}, torch::kDouble);  // |t| = 1
        // For a translation, W1 along θ is |θ·t|; over uniform θ on the circle E|θ·t| = 2|t|/π.
        const double sliced = slicedW1(x, x + shift, {4096, 1});
        QVERIFY2(std::fabs(sliced - 2.0 / M_PI) < 0.02, qPrintable(QString::number(sliced)));
        auto y = torch::rand({150, 2}, torch::kDouble) * 2;
        const double s1 = slicedW1(x, y, {64, 5}), s2 = slicedW1(x, y, {64, 5}), s3 = slicedW1(x, y, {64, 6});
        QCOMPARE(s1, s2);
        QVERIFY(s1 != s3);
        QVERIFY(s1 <= exactW1(x, y).value);  // each projection is 1-Lipschitz
    }

    void badInputIsAClearError() {
        auto ok = torch::randn({5, 3});
        expectError([&] { exactW1(torch::empty({0, 3}), ok); }, "empty");
        expectError([&] { exactW1(ok, torch::randn({5, 4})); }, "different dimensions");
        auto nan = ok.clone();
        nan[2][1] = std::nanf("");
        expectError([&] { exactW1(ok, nan); }, "NaN or Inf");
        auto inf = ok.clone();
        inf[0][0] = INFINITY;
        expectError([&] { slicedW1(inf, ok); }, "NaN or Inf");
        expectError([&] { slicedW1(ok, ok, {0, 0}); }, "projections");
        expectError([&] { exactW1(torch::randn({6000, 1}), torch::randn({6000, 1})); }, "too large");
        expectError([&] { w1OneDimensional({}, {1.0}); }, "empty");
        expectError([&] { exactTransportCost(-torch::ones({2, 2})); }, "negative");
        expectError([&] { exactW1(torch::Tensor(), ok); }, "no samples");
    }
};

COALESCE_TEST_APPLESS_MAIN(TestMetricsTransport)
#include "test_metrics_transport.moc"
