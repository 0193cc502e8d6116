// The "Samples" view: the sample grid of a run (fixed z, so grids are comparable across steps),
// updating live as the job reports images, with a slider through every saved grid and a play button
// (TensorBoard keeps 10 images per tag; here every grid is kept).
#pragma once
#include <QTimer>
#include <QVector>
#include <QWidget>

class ImageView;
class QCheckBox;
class QLabel;
class QSlider;
class QToolButton;
class RunStore;
class RunTagSelector;

class SamplePreview : public QWidget {
    Q_OBJECT
public:
    explicit SamplePreview(RunStore* store, QWidget* parent = nullptr);

    void showRun(int runId, const QString& tag = QStringLiteral("samples"));
    int runId() const;
    QString tag() const;
    QImage currentImage() const;
    qint64 currentStep() const;  // -1 if no image
    int stepCount() const { return int(steps_.size()); }
    void setFollowLatest(bool follow);
    bool followLatest() const;
    void setStepIndex(int index);
    QSlider* stepSlider() const { return slider_; }
    bool exportPng(const QString& path, QString* error) const;

private:
    void onImagesAdded(int runId);
    void reloadSteps();
    void showIndex(int index);
    void togglePlay();

    RunStore* store_;
    RunTagSelector* selector_;
    ImageView* view_;
    QSlider* slider_;
    QLabel* stepLabel_;
    QCheckBox* live_;
    QToolButton* play_;
    QTimer playTimer_;
    QVector<qint64> steps_;
};
