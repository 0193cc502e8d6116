// The "Results" tab: every run's final evaluation metrics as one sortable table (runs/results_table.h),
// refreshed as runs report, exportable as CSV or Markdown. Selecting a ternarize run shows its
// per-layer sparsity, code shares, scales and threshold below (runs/ternary_layers.h).
#pragma once
#include <QTimer>
#include <QWidget>

#include "runs/results_table.h"

class QLabel;
class QTableWidget;

class ResultsView : public QWidget {
    Q_OBJECT
public:
    explicit ResultsView(RunStore* store, QWidget* parent = nullptr);
    const ResultsTable& table() const { return table_; }
    QTableWidget* tableWidget() const { return widget_; }
    QTableWidget* layersWidget() const { return layers_; }
    bool exportTo(const QString& path, QString* error) const;  // .md → Markdown, else CSV; atomic

private:
    void rebuild();
    void showLayersOfSelection();

    RunStore* store_;
    ResultsTable table_;
    QTableWidget* widget_;
    QLabel* hint_;
    QLabel* layersTitle_;
    QTableWidget* layers_;
    QTimer refresh_;  // coalesces bursts of metric updates into one rebuild
};
