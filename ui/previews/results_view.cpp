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
#include "runs/ternary_layers.h"

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
    hint_->setWordWrap(true);  // unwrapped, its 770-px sentence was the main window's minimum width (1660 px)
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
    layersTitle_ = new QLabel(this);
    layersTitle_->setWordWrap(true);
    layers_ = new QTableWidget(this);
    layers_->setObjectName("ternaryLayersTable");
    layers_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    layers_->setAlternatingRowColors(true);
    layers_->verticalHeader()->setVisible(false);
    layersTitle_->hide();
    layers_->hide();
    layout->addWidget(layersTitle_);
    layout->addWidget(layers_, 1);
    connect(widget_, &QTableWidget::itemSelectionChanged, this, &ResultsView::showLayersOfSelection);

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
        auto* runItem = new QTableWidgetItem(row.run);
        runItem->setData(Qt::UserRole, row.runId);
        widget_->setItem(r, 0, runItem);
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

void ResultsView::showLayersOfSelection() {
    const auto selected = widget_->selectedItems();
    const RunData* run = nullptr;
    for (const QTableWidgetItem* item : selected)
        if (item->column() == 0) run = store_->run(item->data(Qt::UserRole).toInt());
    if (!run || run->kind != QLatin1String("ternarize")) {
        layersTitle_->hide();
        layers_->hide();
        return;
    }
    TernaryLayers report;
    QString error;
    layersTitle_->show();
    if (!readTernaryLayers(run->dir, &report, &error)) {
        layersTitle_->setText(error);
        layers_->hide();
        return;
    }
    layersTitle_->setText(tr("Per layer (%1, %2): share of zero / +1 / −1 codes, the scales α+ / α− the codes stand for, "
                             "and the threshold below which a weight becomes 0. Kept in float: %3.")
                              .arg(run->label, report.method,
                                   report.floatLayers.isEmpty() ? tr("none") : report.floatLayers.join(QStringLiteral(", "))));
    const QStringList header{tr("layer"), tr("kind"), tr("shape"), tr("weights"), tr("zeros %"), tr("+1 %"), tr("−1 %"),
                             tr("α+"), tr("α−"), tr("threshold"), tr("threshold / max|w|")};
    layers_->clear();
    layers_->setColumnCount(int(header.size()));
    layers_->setHorizontalHeaderLabels(header);
    layers_->setRowCount(int(report.layers.size()));
    for (int r = 0; r < report.layers.size(); ++r) {
        const TernaryLayerRow& l = report.layers[r];
        layers_->setItem(r, 0, new QTableWidgetItem(l.name));
        layers_->setItem(r, 1, new QTableWidgetItem(l.kind));
        layers_->setItem(r, 2, new QTableWidgetItem(l.shape));
        const double values[] = {double(l.weights), 100 * l.zeroFraction, 100 * l.positiveFraction, 100 * l.negativeFraction,
                                 l.scalePos, l.scaleNeg, l.threshold, l.thresholdOverMaxAbs};
        for (int c = 0; c < 8; ++c) layers_->setItem(r, 3 + c, new NumberItem(values[c]));
    }
    layers_->resizeColumnsToContents();
    layers_->show();
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
