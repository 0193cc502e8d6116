// A run combo + an image-tag combo, kept in sync with a RunStore (runs with images only).
#pragma once
#include <QWidget>

class QComboBox;
class RunStore;

class RunTagSelector : public QWidget {
    Q_OBJECT
public:
    explicit RunTagSelector(RunStore* store, QWidget* parent = nullptr);
    int runId() const;  // -1 if none
    QString tag() const;
    void select(int runId, const QString& tag = QString());
    // Refills from the store (new runs, new tags); keeps the selection when possible.
    void refresh();

Q_SIGNALS:
    void selectionChanged();
    void userChangedSelection();  // only when the user picked from a combo (QComboBox::activated)

private:
    void refillTags();

    RunStore* store_;
    QComboBox* runs_;
    QComboBox* tags_;
    bool refreshing_ = false;
};
