// The "Local data" dock: the target's few samples — an engine dataset spec (Fashion-MNIST classes, an
// image folder, IDX files or a toy mixture), how many (n) and the seed that picks them — and a
// preview of exactly the samples the adaptation stage will use.
#pragma once
#include <QTimer>
#include <QWidget>

class ImageView;
class Project;
class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

class LocalDataPanel : public QWidget {
    Q_OBJECT
public:
    explicit LocalDataPanel(Project* project, QWidget* parent = nullptr);
    // localDataSpecProblem (project/stage_readiness.h) of the spec shown, or the engine's error from
    // loading exactly these samples for the preview: what the dock's ✓/✗ line says.
    QString problem() const;
    // Writes a spec still being typed into the project (Start may come before the field loses focus).
    void commitEdits() { commit(); }
    QString currentSpec() const;
    void setPreview(const QImage& image, const QString& caption);
    void setPreviewError(const QString& message);
    void setPreviewBusy();
    // True from a preview request until its result (or error) arrives.
    bool previewPending() const { return pending_; }

protected:
    // The preview loads by itself while the panel is on screen and what it shows is out of date.
    void showEvent(QShowEvent* event) override;

Q_SIGNALS:
    void previewRequested(const QString& spec, int count, qint64 seed);

private:
    void refresh();
    void commit();
    void validate();
    void requestPreview();
    void autoPreview();
    QString previewKey() const;

    Project* project_;
    QComboBox* spec_;
    QSpinBox* count_;
    QSpinBox* seed_;
    QLabel* status_;
    QPushButton* show_;
    ImageView* preview_;
    QTimer autoPreview_;
    QString shownKey_;  // spec|n|seed of the preview shown or loading
    bool pending_ = false;
    QString previewError_, errorKey_;  // the engine's error for the samples of key errorKey_
};
