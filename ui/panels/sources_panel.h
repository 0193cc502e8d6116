// The "Sources" dock: the pre-trained generators to coalesce. Each card shows the file, its
// architecture (read from the file header), a radius η_k control (log slider + spin box) and the
// resulting weight λ_k, updated live while dragging. Above: fixed/constrained weighting and
// joint/recursive/mixture combination; below: the recursive merge order (editable).
//
// All edits go through Project (undoable); a slider drag is one undo step.
#pragma once
#include <QFrame>
#include <QHash>
#include <cmath>
#include <QVector>
#include <QWidget>

#include "project/model_file_info.h"

struct SourceModel;

class ModelFileCache;

class Project;
class QCheckBox;
class QDoubleSpinBox;
class QProgressBar;
class QSlider;
class QLabel;
class QLineEdit;
class QListWidget;
class QPushButton;
class QRadioButton;
class QToolButton;
class QVBoxLayout;
class SourceCard;

class SourcesPanel : public QWidget {
    Q_OBJECT
public:
    // files: the window's cache of generator-file inspections (shared with the stage checks).
    SourcesPanel(Project* project, const ModelFileCache* files, QWidget* parent = nullptr);

    SourceCard* card(const QString& sourceId) const;
    QList<SourceCard*> cards() const;
    // Cached header inspection of a source file (re-read when the file changes on disk).
    ModelFileInfo info(const SourceModel& source) const;

    // A running barycenter's current multipliers λ_k (constrained mode moves them; they need not sum to
    // 1), in the order of the enabled sources; empty = show the project's λ again.
    void setLiveWeights(const QVector<double>& lambdas);
    // While an estimate runs, the button is disabled and says so.
    void setEstimatingRadii(bool running);
    // The coverage check of the last "η from local data" (an empty regime hides it): what it means for
    // coalescence, in words, under the button. `nearestName`: the nearest source's name.
    // chosenMode: the combination the check just switched the project to ("" if it stayed); note: a sentence
    // to add (e.g. why it did not switch).
    void setCoverage(const QString& regime, double blendEta, double nearestEta, const QString& nearestName,
                     const QString& chosenMode = QString(), const QString& note = QString());

Q_SIGNALS:
    void addRequested();
    // "η from local data": estimate every enabled source's radius from the project's local samples in
    // `space` ("features" or "pixels"); the window runs it (engine) and sets the radii (one undo step).
    void estimateRadiiRequested(const QString& space);

private:
    void rebuildCards();
    void refreshWeights();
    void refreshModes();
    void refreshCoverageText();
    void refreshOrder();
    void updateCompatibility();

    Project* project_;
    QVBoxLayout* cardsLayout_ = nullptr;
    QLabel* emptyHint_ = nullptr;
    QRadioButton* fixed_ = nullptr;
    QRadioButton* constrained_ = nullptr;
    QRadioButton* joint_ = nullptr;
    QRadioButton* recursive_ = nullptr;
    QRadioButton* mixture_ = nullptr;
    QWidget* orderBox_ = nullptr;
    QListWidget* order_ = nullptr;
    QLabel* orderHint_ = nullptr;
    QLabel* modeHint_ = nullptr;
    QLabel* coverage_ = nullptr;
    QString coverageText_, coverageChosenMode_, coverageNote_;  // setCoverage's parts (refreshCoverageText)
    QPushButton* estimate_ = nullptr;
    QVector<double> live_;  // a running barycenter's λ (empty: none)
    QHash<QString, SourceCard*> cards_;
    const ModelFileCache* files_;
};

// One source: name, architecture, radius η_k control, weight λ_k.
class SourceCard : public QFrame {
    Q_OBJECT
public:
    SourceCard(Project* project, const QString& sourceId, QWidget* parent = nullptr);
    QString sourceId() const { return id_; }
    void refresh();                        // from the project
    // λ_k display; with `initial` (not NaN) it is a running barycenter's live multiplier started at `initial`.
    void setWeight(double lambda, double initial = std::nan(""));
    void setInfo(const ModelFileInfo& info);
    void setWarning(const QString& text);  // empty = no warning
    QSlider* slider() const { return slider_; }
    QDoubleSpinBox* spinBox() const { return spin_; }
    QString weightText() const;
    QString warningText() const;
    QString infoText() const;  // the line under the name: architecture (or "TorchScript black box …"), step, size

private:
    Project* project_;
    QString id_;
    QCheckBox* enabled_;
    QLineEdit* name_;  // editable: Enter or leaving the field renames (one undo step)
    QLabel* arch_;
    QLabel* lambda_;
    QProgressBar* lambdaBar_;
    QSlider* slider_;
    QDoubleSpinBox* spin_;
    QLabel* warning_;
    QToolButton* remove_;
    int dragKey_ = 0;
    static int nextDragKey_;
};
