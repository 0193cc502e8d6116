// The "Log" dock: job log lines and the window's own messages, colour-coded by level.
#pragma once
#include <QVector>
#include <QWidget>

#include "bridge/job_event.h"

class QPlainTextEdit;

class LogPanel : public QWidget {
    Q_OBJECT
public:
    explicit LogPanel(QWidget* parent = nullptr);
    // level: 0 debug, 1 info, 2 warning, 3 error (coalesce::LogLevel)
    void append(int level, const QString& message);
    void appendEvents(const QVector<JobEvent>& events);  // the Log events of a drained batch
    QString text() const;
    void clear();

private:
    QPlainTextEdit* view_;
};
