// The "Toy 2-D" view: for the 2-D toy mode (mlp2d generators on Gaussian mixtures), generated points
// over the real point sets, with a step slider — the cheapest way to *see* a barycenter and the
// displacement interpolation between sources (GAN Lab's lesson).
#pragma once
#include <QVector>
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QLabel;
class QSlider;
class RunStore;

class ScatterView : public QWidget {
    Q_OBJECT
public:
    explicit ScatterView(RunStore* store, QWidget* parent = nullptr);
    void showRun(int runId);
    int runId() const;
    int generatedPointCount() const;  // points drawn for the current step
    QSlider* stepSlider() const { return slider_; }
    void applyTheme();

protected:
    void changeEvent(QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    void refreshRuns();
    void reloadSteps();
    void showStep();

    RunStore* store_;
    QComboBox* runs_;
    QCustomPlot* plot_;
    QSlider* slider_;
    QLabel* stepLabel_;
    QLabel* placeholder_;
    QVector<qint64> steps_;
    bool followLatest_ = true;
    bool userPicked_ = false;
    bool stale_ = false;  // points arrived while hidden: redrawn when shown (a toy job streams every few ms)
};
