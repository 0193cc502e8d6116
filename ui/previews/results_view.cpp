#include "previews/results_view.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSaveFile>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>

#include "runs/run_store.h"

namespace {
// Numbers sort as numbers; an empty cell sorts last.
class NumberItem : public QTableWidgetItem {
public:
    explicit NumberItem(double v) : value_(v) {
        setText(std::isnan(v) ? QString() : QString::number(v, 'g', 5));
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem& other) const override {
        const auto* o = dynamic_cast<const NumberItem*>(&other);
        if (!o) return QTableWidgetItem::operator<(other);
        if (std::isnan(value_)) return false;
        if (std::isnan(o->value_)) return true;
        return value_ < o->value_;
    }

private:
    double value_;
};
}  // namespace

ResultsView::ResultsView(RunStore* store, QWidget* parent) : QWidget(parent), store_(store) {
    auto* layout = new QVBoxLayout(this);
    auto* bar = new QHBoxLayout;
    hint_ = new QLabel(this);
    hint_->setForegroundRole(QPalette::PlaceholderText);
    auto* csv = new QPushButton(tr("Export CSV…"), this);
    auto* md = new QPushButton(tr("Export Markdown…"), this);
    bar->addWidget(hint_, 1);
    bar->addWidget(csv);
    bar->addWidget(md);
    layout->addLayout(bar);
    widget_ = new QTableWidget(this);
    widget_->setObjectName("resultsTable");
    widget_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    widget_->setSelectionBehavior(QAbstractItemView::SelectRows);
    widget_->setSortingEnabled(true);
    widget_->setAlternatingRowColors(true);
    widget_->verticalHeader()->setVisible(false);
    layout->addWidget(widget_, 1);

    auto exportAs = [this](const QString& suffix, const QString& filter) {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export Results"), "results." + suffix, filter);
        if (path.isEmpty()) return;
        QString error;
        if (!exportTo(path, &error)) hint_->setText(error);
    };
    connect(csv, &QPushButton::clicked, this, [exportAs] { exportAs("csv", tr("CSV files (*.csv)")); });
    connect(md, &QPushButton::clicked, this, [exportAs] { exportAs("md", tr("Markdown (*.md)")); });

    refresh_.setSingleShot(true);
    refresh_.setInterval(500);
    connect(&refresh_, &QTimer::timeout, this, &ResultsView::rebuild);
    for (auto signal : {&RunStore::runAdded, &RunStore::runRemoved, &RunStore::runChanged, &RunStore::metricsAppended,
                        &RunStore::runReset})
        connect(store_, signal, this, [this] {
            if (!refresh_.isActive()) refresh_.start();
        });
    rebuild();
}

void ResultsView::rebuild() {
    table_ = buildResultsTable(*store_);
    const int sortColumn = widget_->horizontalHeader()->sortIndicatorSection();
    const Qt::SortOrder order = widget_->horizontalHeader()->sortIndicatorOrder();
    widget_->setSortingEnabled(false);
    widget_->clear();
    QStringList header{tr("run"), tr("kind"), tr("status"), tr("step")};
    for (const QString& m : table_.metrics) header << m;
    widget_->setColumnCount(int(header.size()));
    widget_->setHorizontalHeaderLabels(header);
    widget_->setRowCount(int(table_.rows.size()));
    for (int r = 0; r < table_.rows.size(); ++r) {
        const ResultsRow& row = table_.rows[r];
        widget_->setItem(r, 0, new QTableWidgetItem(row.run));
        widget_->setItem(r, 1, new QTableWidgetItem(row.kind));
        widget_->setItem(r, 2, new QTableWidgetItem(row.status));
        widget_->setItem(r, 3, new NumberItem(row.step >= 0 ? double(row.step) : std::nan("")));
        for (int c = 0; c < row.values.size(); ++c) widget_->setItem(r, 4 + c, new NumberItem(row.values[c]));
    }
    widget_->setSortingEnabled(true);
    if (sortColumn >= 0 && sortColumn < widget_->columnCount()) widget_->sortByColumn(sortColumn, order);
    widget_->resizeColumnsToContents();
    hint_->setText(table_.rows.isEmpty() ? tr("No evaluated runs yet: runs with an evaluation protocol (experiment, "
                                              "evaluate, ternarize, stages with \"evaluation\") appear here.")
                                         : tr("%n run(s) · final value of each metric · click a header to sort", nullptr,
                                              int(table_.rows.size())));
}

bool ResultsView::exportTo(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    const QString text = path.endsWith(QLatin1String(".md"), Qt::CaseInsensitive) ? resultsToMarkdown(table_) : resultsToCsv(table_);
    file.write(text.toUtf8());
    if (!file.commit()) {
        if (error) *error = tr("%1: cannot write (%2)").arg(path, file.errorString());
        return false;
    }
    return true;
}
