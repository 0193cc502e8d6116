// The Coalesce workbench: main() only. Everything else lives in the coalesce_ui library (ui/).
//   coalesce [files…]                       open projects, generator files, run directories
//   coalesce --screenshot DIR [--run cfg]   scripted: optionally run one stage, grab every view, quit
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QJsonDocument>
#include <QScreen>
#include <QSettings>
#include <QTimer>
#include <algorithm>
#include <cstdio>

#include "app/icons.h"
#include "app/main_window.h"
#include "app/screenshot_driver.h"
#include "app/theme.h"

namespace {
// A window larger than the screen it opens on (a geometry saved on a larger monitor, or a widget whose minimum
// width grows the first layout: the Results view's one-line hint once made it 1660 px on a 1600-px display and
// cut the Stages dock off) is fitted into the screen's available area right after showing.
void fitToScreen(QWidget& window) {
    const QScreen* screen = window.screen();
    if (!screen) return;
    const QRect available = screen->availableGeometry();
    const QSize decoration = window.frameGeometry().size() - window.size();
    const QSize fitted = window.size().boundedTo(available.size() - decoration);
    if (fitted != window.size()) window.resize(fitted);
    const QRect frame = window.frameGeometry();
    const int x = std::clamp(frame.left(), available.left(), std::max(available.left(), available.right() + 1 - frame.width()));
    const int y = std::clamp(frame.top(), available.top(), std::max(available.top(), available.bottom() + 1 - frame.height()));
    if (x != frame.left() || y != frame.top()) window.move(x, y);
}
}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("Coalesce"));
    QApplication::setApplicationName(QStringLiteral("Coalesce"));
    QApplication::setApplicationDisplayName(QStringLiteral("Coalesce"));
    QApplication::setApplicationVersion(QStringLiteral(COALESCE_VERSION));
    QApplication::setDesktopFileName(QStringLiteral("coalesce"));
    QApplication::setWindowIcon(icons::appIcon());
    QSettings::setDefaultFormat(QSettings::IniFormat);
    captureSystemPalette();

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Coalesce: continual learning of GANs with limited data"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("files"), QStringLiteral("Project, generator files or run directories to open"), QStringLiteral("[files…]"));
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Grab every main view into <dir> and quit"), QStringLiteral("dir"));
    QCommandLineOption run(QStringLiteral("run"), QStringLiteral("Run the stage described by <config.json> first (with --screenshot)"), QStringLiteral("config.json"));
    QCommandLineOption theme(QStringLiteral("theme"), QStringLiteral("light, dark or system"), QStringLiteral("theme"));
    QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size WxH (default 1400x880)"), QStringLiteral("WxH"));
    QCommandLineOption settingsFile(QStringLiteral("settings"), QStringLiteral("Use <file> for settings instead of the user's"), QStringLiteral("file"));
    QCommandLineOption timeout(QStringLiteral("timeout"), QStringLiteral("Seconds to wait for the --run job (default 600)"), QStringLiteral("s"));
    parser.addOptions({screenshot, run, theme, size, settingsFile, timeout});
    parser.process(app);

    QSettings* settings = parser.isSet(settingsFile) ? new QSettings(parser.value(settingsFile), QSettings::IniFormat) : nullptr;
    MainWindow window(JobCatalog::engine(), settings);
    if (parser.isSet(theme)) window.setTheme(themeFromString(parser.value(theme)));
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split('x');
        if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
    }
    window.show();
    // An explicit --size is kept as given, and the offscreen platform has no real screen to fit (its virtual one is
    // 800×600; the README's screenshots are taken larger).
    if (!parser.isSet(size) && QGuiApplication::platformName() != QLatin1String("offscreen"))
        QTimer::singleShot(0, &window, [&window] { fitToScreen(window); });
    if (!parser.positionalArguments().isEmpty()) window.openPaths(parser.positionalArguments());

    if (!parser.isSet(screenshot) && !parser.isSet(run)) {
        const int rc = app.exec();
        delete settings;
        return rc;
    }

    ScreenshotDriver::Options options;
    options.outputDir = parser.value(screenshot);
    if (parser.isSet(timeout)) options.timeoutSeconds = parser.value(timeout).toInt();
    if (parser.isSet(run)) {
        QFile f(parser.value(run));
        if (!f.open(QIODevice::ReadOnly)) {
            std::fprintf(stderr, "coalesce: cannot read %s\n", qPrintable(parser.value(run)));
            return 2;
        }
        QJsonParseError error;
        const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &error);
        if (!doc.isObject()) {
            std::fprintf(stderr, "coalesce: %s: not a JSON object (%s)\n", qPrintable(parser.value(run)), qPrintable(error.errorString()));
            return 2;
        }
        options.stageConfig = doc.object();
    }
    ScreenshotDriver driver(&window, options);
    int exitCode = 0;
    QObject::connect(&driver, &ScreenshotDriver::done, &app, [&](int code) {
        exitCode = code;
        window.setWindowModified(false);
        QTimer::singleShot(0, &app, &QApplication::quit);
    });
    QTimer::singleShot(0, &driver, &ScreenshotDriver::start);
    app.exec();
    delete settings;
    return exitCode;
}

