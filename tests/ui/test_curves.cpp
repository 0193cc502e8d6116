// Live curves: TensorBoard's debiased EMA against its closed form, chart grouping, overlaid runs,
// legend toggling, log axis, η_k radius lines, coalesced replots, replots spread over event-loop turns
// (ReplotScheduler; resizes do not replot synchronously), exports — and the replot time with
// 100k points (reported, not asserted: timing is the bench's business, correctness is the test's).
#include "support/test_main.h"  // Qt Test, and the suite registration

#include <cmath>

#include "plots/curves_panel.h"
#include "plots/metric_chart.h"
#include "plots/replot_scheduler.h"
#include "plots/smoothing.h"
#include "runs/run_store.h"
#include "ui_test_helpers.h"

namespace {

// The closed form of the debiased EMA: s_n = Σ_{i=1..n} (1−w) w^{n−i} y_i / (1 − w^n).
double closedForm(const QVector<double>& y, int n, double w) {
    double num = 0;
    for (int i = 1; i <= n; ++i) num += (1 - w) * std::pow(w, n - i) * y[i - 1];
    return num / (1 - std::pow(w, n));
}

JobEvent metric(const QString& name, qint64 step, double value) {
    JobEvent e;
    e.type = JobEvent::Type::Metric;
    e.name = name;
    e.step = step;
    e.value = value;
    return e;
}

int countItems(QCustomPlot* plot, Qt::PenStyle style) {
    int n = 0;
    for (int i = 0; i < plot->itemCount(); ++i)
        if (auto* line = qobject_cast<QCPItemStraightLine*>(plot->item(i)); line && line->pen().style() == style) ++n;
    return n;
}

}  // namespace

class TestCurves : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void debiasedEmaMatchesClosedForm() {
        const QVector<double> y{3.0, -1.0, 4.0, 1.5, 9.0, 2.6, 5.0, 3.5};
        for (double w : {0.0, 0.3, 0.6, 0.9, 0.99}) {
            const QVector<double> s = smoothDebiasedEma(y, w);
            for (int n = 1; n <= y.size(); ++n)
                QVERIFY2(std::abs(s[n - 1] - closedForm(y, n, w)) < 1e-9,
                         qPrintable(QString("w=%1 n=%2: %3 vs %4").arg(w).arg(n).arg(s[n - 1]).arg(closedForm(y, n, w))));
        }
        // Not biased toward 0: the first smoothed value is the first raw value.
        QCOMPARE(smoothDebiasedEma({5.0, 7.0}, 0.9)[0], 5.0);
        // Constant series pass through exactly (TensorBoard #786).
        for (double v : smoothDebiasedEma(QVector<double>(500, 0.1), 0.99)) QCOMPARE(v, 0.1);
        // Non-finite values pass through without poisoning the average.
        const QVector<double> withNan = smoothDebiasedEma({1.0, std::nan(""), 3.0}, 0.5);
        QVERIFY(std::isnan(withNan[1]));
        QVERIFY(std::abs(withNan[2] - closedForm({1.0, 3.0}, 2, 0.5)) < 1e-12);
    }

    void metricGrouping() {
        QCOMPARE(MetricChart::groupOf("w_hat/0"), QString("w_hat"));
        QCOMPARE(MetricChart::seriesKeyOf("w_hat/0"), QString("0"));
        QCOMPARE(MetricChart::groupOf("loss_g"), QString("loss_g"));
        QCOMPARE(MetricChart::seriesKeyOf("loss_g"), QString());
        QCOMPARE(MetricChart::groupOf("eval/fid"), QString("eval"));
        QVERIFY(MetricChart::isRadiusGroup("w_hat"));
        QVERIFY(MetricChart::isRadiusGroup("W1_hat"));
        QVERIFY(!MetricChart::isRadiusGroup("lambda"));
    }

    void chartsAppearCoalescedAndOverlaid() {
        RunStore store;
        CurvesPanel panel(&store);
        panel.resize(1000, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const int a = store.addRun("run A", "fake", "", "running");
        const int b = store.addRun("run B", "fake", "", "running");
        // 200 small batches in a burst: the panel must not replot per batch.
        for (int i = 0; i < 200; ++i) {
            store.apply(a, {metric("loss_g", i, 1.0 / (i + 1)), metric("w_hat/0", i, 0.5), metric("w_hat/1", i, 1.5),
                            metric("eta/0", i, 0.4), metric("eta/1", i, 2.0)});
            store.apply(b, {metric("loss_g", i, 2.0 / (i + 1))});
        }
        QVERIFY(panel.updatePending());
        QVERIFY(panel.charts().isEmpty());  // nothing drawn before the timer fires
        QTRY_VERIFY_WITH_TIMEOUT(!panel.updatePending(), 2000);
        QVERIFY2(panel.stats().flushes <= 2, qPrintable(QString("flushes: %1").arg(panel.stats().flushes)));

        // Two charts (eta feeds the radius lines, not a chart of its own).
        QCOMPARE(panel.charts().size(), 2);
        QVERIFY(!panel.chart("eta"));
        MetricChart* loss = panel.chart("loss_g");
        QVERIFY(loss);
        QCOMPARE(loss->seriesCount(), 2);  // both runs overlaid
        QCOMPARE(loss->smoothedGraph(a, "loss_g")->data()->size(), 200);
        QCOMPARE(loss->rawGraph(b, "loss_g")->data()->size(), 200);
        QVERIFY(loss->legend->visible());
        // Pens wider than 1 px make QPainter stroke every segment (40x slower replots): keep them thin.
        QVERIFY(loss->smoothedGraph(a, "loss_g")->pen().widthF() <= 1.0);
        QVERIFY(loss->rawGraph(a, "loss_g")->pen().widthF() <= 1.0);

        // Ŵ_k chart: one series per source and a dashed line at each η_k.
        MetricChart* wHat = panel.chart("w_hat");
        QCOMPARE(wHat->seriesCount(), 2);
        QCOMPARE(countItems(wHat, Qt::DashLine), 2);
        QList<double> radii;
        for (int i = 0; i < wHat->itemCount(); ++i)
            if (auto* line = qobject_cast<QCPItemStraightLine*>(wHat->item(i))) radii << line->point1->coords().y();
        std::sort(radii.begin(), radii.end());
        QCOMPARE(radii, QList<double>({0.4, 2.0}));
        // The y range keeps both radius lines in view.
        QVERIFY(wHat->yAxis->range().contains(0.4) && wHat->yAxis->range().contains(2.0));

        // New points are appended incrementally.
        store.apply(a, {metric("loss_g", 200, 0.001)});
        panel.flush();
        QCOMPARE(loss->smoothedGraph(a, "loss_g")->data()->size(), 201);

        // Legend click equivalent: hide and show a series.
        loss->toggleSeries(b, "loss_g");
        QVERIFY(!loss->smoothedGraph(b, "loss_g")->visible());
        QVERIFY(loss->seriesHiddenByUser(b, "loss_g"));
        loss->toggleSeries(b, "loss_g");
        QVERIFY(loss->smoothedGraph(b, "loss_g")->visible());

        // Hiding a run (Runs dock) hides its series everywhere.
        store.setVisible(b, false);
        QVERIFY(!loss->smoothedGraph(b, "loss_g")->visible());
        store.setVisible(b, true);
        // A chart whose runs are all hidden leaves the grid (w_hat has only run A); the others stay.
        store.setVisible(a, false);
        QVERIFY(!wHat->isVisible());
        QVERIFY(loss->isVisible());
        store.setVisible(a, true);
        QVERIFY(wHat->isVisible());

        // Series with few points get a dot per point (a single point has no line); dense ones only the line.
        QVERIFY(loss->smoothedGraph(a, "loss_g")->scatterStyle().isNone());
        store.apply(b, {metric("w1/0", 25, 0.3)});
        panel.flush();
        QVERIFY(panel.chart("w1"));
        QVERIFY(!panel.chart("w1")->smoothedGraph(b, "w1/0")->scatterStyle().isNone());

        // Log axis and smoothing changes apply to every chart.
        panel.setLogY(true);
        QCOMPARE(loss->yAxis->scaleType(), QCPAxis::stLogarithmic);
        panel.setLogY(false);
        QCOMPARE(loss->yAxis->scaleType(), QCPAxis::stLinear);
        panel.setSmoothing(0.0);
        QVERIFY(!loss->rawGraph(a, "loss_g")->visible());  // no smoothing: only one curve
        QCOMPARE(loss->smoothedGraph(a, "loss_g")->data()->at(5)->value, 1.0 / 6.0);
        panel.setSmoothing(0.9);
        QVERIFY(loss->rawGraph(a, "loss_g")->visible());
        const double expected = closedForm([] {
            QVector<double> y;
            for (int i = 0; i < 6; ++i) y << 1.0 / (i + 1);
            return y;
        }(), 6, 0.9);
        QVERIFY(std::abs(loss->smoothedGraph(a, "loss_g")->data()->at(5)->value - expected) < 1e-12);

        // Filter hides charts that do not match.
        panel.setFilter("^w_");
        QVERIFY(!loss->isVisible());
        QVERIFY(wHat->isVisible());
        panel.setFilter("");

        // Removing a run removes its series; a chart left empty disappears.
        store.removeRun(a);
        QCOMPARE(loss->seriesCount(), 1);
        QTRY_VERIFY(!panel.chart("w_hat"));
    }

    // A burst of replots is spread over event-loop turns: each turn replots until its budget is spent
    // (at least one chart), then yields; a chart is queued once; a chart deleted while queued is skipped.
    void replotSchedulerSpreadsABurst() {
        ReplotScheduler scheduler;
        scheduler.setBudgetMs(0);  // one chart per turn
        QStringList order;
        scheduler.setOnReplot([&](QCustomPlot* p) { order << p->objectName(); });
        QCustomPlot a, b;
        a.setObjectName("a");
        b.setObjectName("b");
        auto* gone = new QCustomPlot;
        scheduler.request(&a);
        scheduler.request(gone);
        scheduler.request(&b);
        scheduler.request(&a);  // already queued
        QVERIFY(scheduler.pending(&a) && !scheduler.idle());
        delete gone;
        QVERIFY(order.isEmpty());  // nothing replots in the requesting turn
        scheduler.runSome();
        QCOMPARE(order, QStringList({"a"}));
        QTRY_VERIFY(scheduler.idle());
        QCOMPARE(order, QStringList({"a", "b"}));
        scheduler.request(&b);
        scheduler.cancel(&b);
        scheduler.request(&a);
        scheduler.runAll();
        QCOMPARE(order, QStringList({"a", "b", "a"}));
    }

    // A relayout resizes every chart in one turn; QCustomPlot would replot each synchronously (the
    // ~90 ms GUI stall when a pretraining run's charts appeared). In the panel a resize only queues it.
    void chartResizesReplotInALaterTurn() {
        RunStore store;
        CurvesPanel panel(&store);
        panel.resize(1000, 700);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const int a = store.addRun("run A", "fake", "", "running");
        for (int i = 0; i < 20; ++i) store.apply(a, {metric("loss_g", i, 1.0 / (i + 1)), metric("loss_d/0", i, -i)});
        panel.flush();
        QVERIFY(!panel.updatePending());
        MetricChart* chart = panel.chart("loss_g");
        QVERIFY(chart && chart->isVisible());
        const int before = panel.stats().replots;
        chart->resize(chart->width() - 40, chart->height());  // a visible widget gets its resize event now
        QCOMPARE(chart->viewport(), chart->rect());           // the chart knows its new size ...
        QCOMPARE(panel.stats().replots, before);              // ... but draws it in a later turn
        QVERIFY(panel.updatePending());
        QTRY_VERIFY(!panel.updatePending());
        QCOMPARE(panel.stats().replots, before + 1);
    }

    void exports() {
        RunStore store;
        CurvesPanel panel(&store);
        panel.resize(900, 600);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const QString dir = uitest::scratch("curves_export");
        QString error;
        QVERIFY(!panel.exportPng(dir + "/empty.png", &error));
        QVERIFY(error.contains("no curves"));
        const int a = store.addRun("run \"A\"", "fake", "", "finished");
        for (int i = 0; i < 50; ++i) store.apply(a, {metric("loss_d/0", i, std::sin(i * 0.1)), metric("loss_g", i, i)});
        panel.flush();
        QVERIFY2(panel.exportCsv(dir + "/curves.csv", &error), qPrintable(error));
        QFile csv(dir + "/curves.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QList<QByteArray> lines = csv.readAll().trimmed().split('\n');
        QCOMPARE(lines.size(), 101);
        QCOMPARE(lines[0], QByteArray("run,metric,step,value,smoothed"));
        QVERIFY(lines[1].startsWith("\"run \"\"A\"\"\",loss_d/0,0,0,0"));  // quoted label, raw and smoothed
        QVERIFY2(panel.exportPng(dir + "/curves.png", &error), qPrintable(error));
        QVERIFY(!QImage(dir + "/curves.png").isNull());
        QVERIFY2(panel.exportPdf(dir + "/curves.pdf", &error), qPrintable(error));
        QFile pdf(dir + "/curves.pdf");
        QVERIFY(pdf.open(QIODevice::ReadOnly));
        QVERIFY(pdf.read(5) == "%PDF-");
        QVERIFY(!panel.exportCsv(dir + "/no/such/dir/x.csv", &error));
        QVERIFY(error.contains("cannot write"));
    }

    // Reports replot cost at 100k points (the target is "100k points stay smooth").
    void replotTimeWith100kPoints() {
        RunStore store;
        CurvesPanel panel(&store);
        panel.resize(1200, 800);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        const int a = store.addRun("long run", "fake", "", "running");
        const int n = 100000;
        QVector<double> steps(n), values(n), values2(n);
        for (int i = 0; i < n; ++i) {
            steps[i] = i;
            values[i] = std::exp(-i / 30000.0) + 0.1 * std::sin(i * 0.01) + 0.05 * ((i * 7919) % 101) / 101.0;
            values2[i] = 0.5 * values[i];
        }
        QElapsedTimer t;
        t.start();
        store.addMetricPoints(a, "loss_d/0", steps, values);
        store.addMetricPoints(a, "loss_d/1", steps, values2);
        panel.flush();
        const double firstFlushMs = t.nsecsElapsed() / 1e6;
        MetricChart* chart = panel.chart("loss_d");
        QVERIFY(chart);
        QCOMPARE(chart->pointCount(), qint64(2 * n));
        // Steady state: a full replot of a chart holding 2 × 100k raw + 2 × 100k smoothed points.
        const int repeats = 20;
        t.restart();
        for (int i = 0; i < repeats; ++i) chart->replot(QCustomPlot::rpImmediateRefresh);
        const double replotMs = t.nsecsElapsed() / 1e6 / repeats;
        // Live: append 40 ms worth of points (1000) to each series, then one flush (append + replot).
        QVector<double> moreSteps(1000), more(1000);
        double appendMs = 0;
        for (int round = 0; round < 10; ++round) {
            for (int i = 0; i < 1000; ++i) {
                moreSteps[i] = n + round * 1000 + i;
                more[i] = 0.1;
            }
            store.addMetricPoints(a, "loss_d/0", moreSteps, more);
            store.addMetricPoints(a, "loss_d/1", moreSteps, more);
            t.restart();
            panel.flush();
            appendMs += t.nsecsElapsed() / 1e6;
        }
        qInfo("replot with 400k drawn points (2 series x 100k, raw + smoothed): %.1f ms per replot (%.0f replots/s); "
              "first load %.1f ms; live flush of +2k points %.1f ms",
              replotMs, 1000.0 / replotMs, firstFlushMs, appendMs / 10);
        QCOMPARE(chart->pointCount(), qint64(2 * (n + 10000)));
    }
};

COALESCE_TEST_MAIN(TestCurves)
#include "test_curves.moc"
