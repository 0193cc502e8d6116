// Scripted use of the real window for documentation and smoke tests (coalesce --screenshot DIR):
// optionally runs one stage, measures the GUI thread's longest stall while it trains, then grabs
// every main view with QWidget::grab() into DIR/<view>.png and quits.
#pragma once
#include <QJsonObject>
#include <QObject>
#include <QString>

class MainWindow;
class StallMonitor;

class ScreenshotDriver : public QObject {
    Q_OBJECT
public:
    struct Options {
        QString outputDir;          // empty: no screenshots (only the run / stall report)
        QJsonObject stageConfig;    // empty: no run
        int timeoutSeconds = 600;
        bool measureStall = true;
    };
    ScreenshotDriver(MainWindow* window, Options options, QObject* parent = nullptr);
    void start();
    int exitCode() const { return exitCode_; }

Q_SIGNALS:
    void done(int exitCode);

private:
    void onJobFinished();
    void captureAll();
    bool grab(const QString& name, QWidget* widget);
    void settle(int ms);

    MainWindow* window_;
    Options options_;
    StallMonitor* stall_;
    bool midRunShot_ = false;
    int jobRunId_ = -1;  // the run the --run stage created
    int exitCode_ = 0;
};
