// The "Compare" view: two sample grids side by side on one shared step slider, e.g. the float
// generator against its ternarized version, or the barycenter against an adapted model. Each side
// shows its latest grid at or before the chosen step (runs save grids at different steps).
#pragma once
#include <QVector>
#include <QWidget>

class ImageView;
class QLabel;
class QSlider;
class RunStore;
class RunTagSelector;

class ComparePreview : public QWidget {
    Q_OBJECT
public:
    explicit ComparePreview(RunStore* store, QWidget* parent = nullptr);
    void showPair(int leftRun, const QString& leftTag, int rightRun, const QString& rightTag);
    QImage leftImage() const;
    QImage rightImage() const;
    QSlider* stepSlider() const { return slider_; }
    // Picks a sensible default pair: tags "samples" vs "ternary" of one run, or the two newest runs.
    void chooseDefaultPair();

private:
    void rebuildSteps();
    void showStep();
    void showSide(RunTagSelector* selector, ImageView* view, qint64 step);

    RunStore* store_;
    RunTagSelector* left_;
    RunTagSelector* right_;
    ImageView* leftView_;
    ImageView* rightView_;
    QSlider* slider_;
    QLabel* stepLabel_;
    QVector<qint64> steps_;  // union of both sides' steps
    bool userPicked_ = false;
};
