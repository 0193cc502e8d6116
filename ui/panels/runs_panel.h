// The "Runs" dock: every run in the window (live and loaded), with its colour, kind and status; the
// check box shows/hides it in the curves; double-click opens its samples.
#pragma once
#include <QWidget>

class QTreeWidget;
class QTreeWidgetItem;
class RunStore;

class RunsPanel : public QWidget {
    Q_OBJECT
public:
    explicit RunsPanel(RunStore* store, QWidget* parent = nullptr);
    QTreeWidget* tree() const { return tree_; }
    int selectedRun() const;

Q_SIGNALS:
    void openRunRequested();              // "Open run directory…"
    void showSamplesRequested(int runId);
    void runRemovedByUser(const QString& dir);  // "Remove": the project forgets the run too
    void useAsSourceRequested(const QString& generatorFile);  // a finished run's generator, as a source

private:
    void onRunAdded(int id);
    void onRunChanged(int id);
    void onRunRemoved(int id);
    QTreeWidgetItem* itemFor(int id) const;

    RunStore* store_;
    QTreeWidget* tree_;
    bool updating_ = false;
};
