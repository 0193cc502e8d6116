// Help ▸ About: what Coalesce is and the versions it runs with (Qt, QCustomPlot, LibTorch, device).
#pragma once
#include <QDialog>

class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget* parent = nullptr);
    QString versionsText() const { return versions_; }

private:
    QString versions_;
};
