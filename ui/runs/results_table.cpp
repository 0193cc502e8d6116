#include "runs/results_table.h"

#include <QMap>
#include <cmath>

#include "runs/run_store.h"

namespace {
// Most telling first; any other evaluation metric follows alphabetically.
const QStringList kPreferred = {"fid", "kid", "w1", "w1_features", "sliced_w1", "precision", "recall", "diversity",
                                "fid_ratio", "wall_seconds"};

int rank(const QString& metric) {
    const int i = kPreferred.indexOf(metric);
    return i < 0 ? int(kPreferred.size()) : i;
}

QString number(double v) {
    if (std::isnan(v)) return {};
    return QString::number(v, 'g', 5);
}

QString escapeCsv(const QString& s) {
    if (!s.contains(',') && !s.contains('"') && !s.contains('\n')) return s;
    return '"' + QString(s).replace('"', "\"\"") + '"';
}
}  // namespace

ResultsTable buildResultsTable(const RunStore& store) {
    struct Pending {
        ResultsRow row;
        QMap<QString, double> values;
    };
    QVector<Pending> pending;
    QMap<QString, bool> metricNames;
    for (int id : store.ids()) {
        const RunData* run = store.run(id);
        if (!run) continue;
        Pending own{{id, run->label, run->kind, run->status, -1, {}}, {}};
        QMap<QString, Pending> children;  // an experiment's method runs, by series name
        for (auto it = run->metrics.cbegin(); it != run->metrics.cend(); ++it) {
            const QString& name = it.key();
            const MetricSeries& series = it.value();
            if (series.values.isEmpty()) continue;
            const double last = series.values.last();
            const qint64 step = qint64(series.steps.last());
            if (name.startsWith(QLatin1String("eval/"))) {
                const QString metric = name.mid(5);
                if (metric.endsWith(QLatin1String("_se")) || metric.endsWith(QLatin1String("_reference"))) continue;
                own.values[metric] = last;
                own.row.step = std::max(own.row.step, step);
                metricNames[metric] = true;
            } else if (run->kind == QLatin1String("experiment") && name.contains('/')) {
                const QString metric = name.section('/', 0, 0), series = name.section('/', 1);
                if (metric.endsWith(QLatin1String("_se")) || metric.endsWith(QLatin1String("_reference"))) continue;
                Pending& child = children[series];
                child.row = {id, run->label + QStringLiteral(" · ") + series, run->kind, run->status, std::max(child.row.step, step), {}};
                child.values[metric] = last;
                metricNames[metric] = true;
            }
        }
        if (!own.values.isEmpty() || children.isEmpty()) pending << own;
        for (const Pending& c : children) pending << c;
    }
    ResultsTable table;
    table.metrics = metricNames.keys();
    std::stable_sort(table.metrics.begin(), table.metrics.end(),
                     [](const QString& a, const QString& b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a < b; });
    for (Pending& p : pending) {
        for (const QString& m : table.metrics) p.row.values << p.values.value(m, std::nan(""));
        table.rows << p.row;
    }
    return table;
}

QString resultsToCsv(const ResultsTable& table) {
    QStringList header{"run", "kind", "status", "step"};
    header += table.metrics;
    QString out = header.join(',') + '\n';
    for (const ResultsRow& r : table.rows) {
        QStringList cells{escapeCsv(r.run), escapeCsv(r.kind), escapeCsv(r.status), r.step >= 0 ? QString::number(r.step) : QString()};
        for (double v : r.values) cells << number(v);
        out += cells.join(',') + '\n';
    }
    return out;
}

QString resultsToMarkdown(const ResultsTable& table) {
    QStringList header{"run", "kind", "status", "step"};
    header += table.metrics;
    QString out = "| " + header.join(" | ") + " |\n|";
    for (int i = 0; i < header.size(); ++i) out += i < 4 ? ":---|" : "---:|";
    out += '\n';
    for (const ResultsRow& r : table.rows) {
        QStringList cells{QString(r.run).replace('|', "\\|"), r.kind, r.status, r.step >= 0 ? QString::number(r.step) : QString()};
        for (double v : r.values) cells << number(v);
        out += "| " + cells.join(" | ") + " |\n";
    }
    return out;
}
